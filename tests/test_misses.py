"""What the bot missed: misses recorded as they happen, grouped, labelled into the next training
data, dismissed, flagged by agents; admins only (SQLite and PostgreSQL, real model)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiohttp
from sqlalchemy import select

from actions.base import Decision
from bot.conversation.records import missed
from bot.desk.misses import group
from bot.nlu.training import assemble
from bot.store.models import AuditEntry, Message, Miss
from tests.agent_stack import AgentStack, call, login

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _miss(miss_id: int, key: str, minutes: int) -> Miss:
    return Miss(id=miss_id, key=key, text=key, created_at=T0 + timedelta(minutes=minutes))


def test_grouped_by_wording_most_frequent_then_newest() -> None:
    rows = [_miss(5, "帮我写一首诗", 50), _miss(4, "后天天气怎么样呀", 40), _miss(3, "股票会涨吗", 30),
            _miss(2, "明天天气怎么样啊", 20), _miss(1, "明天天气怎么样？", 10)]
    groups = group(rows)
    assert [[m.id for m in g.misses] for g in groups] == [[4, 2, 1], [5], [3]]
    assert groups[0].as_json()["count"] == 3 and groups[0].as_json()["similar"] == [2, 1]


def test_which_decisions_are_misses() -> None:
    assert missed("clarify", Decision("clarify", "nlu_fallback", 0.1)) == "clarify"
    assert missed("decline", Decision("decline", "out_of_scope", 0.5)) == "decline"
    assert missed("handoff", Decision("handoff", "nlu_fallback", 0.1, reason="bot_failed")) == "bot_failed"
    assert missed("handoff", Decision("handoff", "request_human", 0.9, reason="requested_human")) is None
    assert missed("answer_faq", Decision("answer_faq", "faq/x", 0.9, faq="faq/x")) is None


async def _training_text(stack: AgentStack, tmp_path) -> tuple[str, str]:
    training = await assemble(stack.rt.db, stack.rt.settings, tmp_path / "assembled")
    return (tmp_path / "assembled" / "nlu.yml").read_text(encoding="utf-8"), training.data_hash


async def test_misses_grouped_labelled_dismissed_flagged(stack: AgentStack, tmp_path) -> None:
    for openid, text in (("oMiss01", "明天天气怎么样啊"), ("oMiss02", "后天天气怎么样呀"), ("oMiss03", "股票会涨吗"),
                         ("oMiss04", "今天天气怎么样"), ("oMiss05", "你好")):
        await stack.push(text, openid)
    root, alice, olga = [await stack.token(name) for name in ("root", "alice", "olga")]
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", f"{stack.base}/api/v1/misses", root)
        assert status == 200 and body["open"] == 4, body  # "你好" was answered well
        weather, stocks = body["misses"]
        assert weather["count"] == 3 and weather["text"] == "今天天气怎么样" and weather["action"] == "decline"
        assert weather["intent"] == "out_of_scope" and weather["confidence"] is not None
        assert stocks["count"] == 1 and stocks["text"] == "股票会涨吗"
        for method, path in (("GET", "/misses"), ("POST", f"/misses/{stocks['id']}/dismiss")):
            assert (await call(http, method, f"{stack.base}/api/v1{path}", alice))[0] == 403

        before, hash_before = await _training_text(stack, tmp_path)
        new_faq = {"faq": {"title": "能查天气吗", "answer": "抱歉，我们只能回答订单相关的问题。", "name": "faq/weather"},
                   "also": weather["similar"]}
        # "今天天气怎么样" is an out_of_scope example already: the whole label is refused
        status, body = await call(http, "POST", f"{stack.base}/api/v1/misses/{weather['id']}/label", root,
                                  json=new_faq)
        assert status == 422 and "out_of_scope" in body["error"]
        assert (await _training_text(stack, tmp_path))[1] == hash_before  # nothing changed
        head, *others = weather["similar"]
        status, _ = await call(http, "POST", f"{stack.base}/api/v1/misses/{head}/label", root,
                               json={**new_faq, "also": others})
        assert status == 204
        after, hash_after = await _training_text(stack, tmp_path)
        assert "明天天气怎么样啊" not in before and "明天天气怎么样啊" in after and "后天天气怎么样呀" in after
        assert "faq__weather" in after and hash_after != hash_before  # the active model is out of date now
        status, body = await call(http, "POST", f"{stack.base}/api/v1/misses/{head}/label", root,
                                  json={"intent": "out_of_scope"})
        assert status == 422 and "已标注" in body["error"]
        status, body = await call(http, "POST", f"{stack.base}/api/v1/misses/{stocks['id']}/label", root,
                                  json={"intent": "no_such_intent"})
        assert status == 422 and "未知的意图" in body["error"]

        assert (await call(http, "POST", f"{stack.base}/api/v1/misses/{stocks['id']}/dismiss", root))[0] == 204
        status, body = await call(http, "POST", f"{stack.base}/api/v1/misses/{stocks['id']}/dismiss", root)
        assert status == 422 and "已忽略" in body["error"]
        assert (await call(http, "POST", f"{stack.base}/api/v1/misses/999999/dismiss", root))[0] == 404
        status, body = await call(http, "GET", f"{stack.base}/api/v1/misses", root)
        assert body["open"] == 1 and [g["text"] for g in body["misses"]] == ["今天天气怎么样"]

        # an agent flags the bot's (smalltalk) answer to "你好"
        async with stack.rt.db.sessions() as session:
            greeting = (await session.execute(select(Message).where(Message.text == "你好"))).scalar_one()
            reply = (await session.execute(select(Message).where(Message.reply_to_id == greeting.id))).scalar_one()
        assert (await call(http, "POST", f"{stack.base}/api/v1/messages/{reply.id}/miss", olga))[0] == 404
        assert (await call(http, "POST", f"{stack.base}/api/v1/messages/{greeting.id}/miss", alice))[0] == 422
        status, body = await call(http, "POST", f"{stack.base}/api/v1/messages/{reply.id}/miss", alice)
        assert status == 201
        status, listed = await call(http, "GET", f"{stack.base}/api/v1/misses", root)
        flagged = next(g for g in listed["misses"] if g["id"] == body["miss_id"])
        assert listed["open"] == 2 and flagged["kind"] == "flagged" and flagged["flagged_by"] == "alice"
        assert flagged["action"] == "smalltalk" and flagged["intent"] == "greet"

    async with stack.rt.db.sessions() as session:
        audited = (await session.execute(select(AuditEntry.action, AuditEntry.actor).where(
            AuditEntry.entity == "miss").order_by(AuditEntry.id))).all()
    assert audited == [("miss.label", "root"), ("miss.label", "root"), ("miss.dismiss", "root"),
                       ("miss.flag", "alice")]


async def test_misses_page_is_for_admins_and_counts_open_misses(stack: AgentStack) -> None:
    await stack.push("股票会涨吗", "oMissPage1")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # cookies for 127.0.0.1
        await login(http, stack.base, "alice")
        status, html = await call(http, "GET", f"{stack.base}/admin/misses")
        assert status == 403 and "仅管理员" in html
        status, html = await call(http, "GET", f"{stack.base}/inbox")
        assert "/admin/misses" not in html
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await login(http, stack.base, "root")
        status, html = await call(http, "GET", f"{stack.base}/inbox")
        assert status == 200 and '<span class="count" title="待处理">1</span>' in html
