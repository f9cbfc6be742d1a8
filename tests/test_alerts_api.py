"""Crisis alerts end to end: complaints pushed through the fake WeChat and Weibo platforms, the
radar's scan, the alerts API (both databases), and the statement delivered through the outbox
to the customers inside their reply window only."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.desk import radar
from bot.store import audit
from bot.store.models import Customer, OutboxItem, Thread
from tests.agent_stack import call, staffed_stack, wait_until

WECHAT = [("brand", "oC0"), ("other", "oC1"), ("brand", "oC2"), ("other", "oC3"), ("brand", "oLATE")]
FAN, POSTER = 5550001, 5550002
STATEMENT = "您好，关于充电器发烫的问题，我们已在排查，将尽快给您答复。"


async def _async(value):
    return value


@pytest.fixture
async def alert_stack(nlu_pool, database_url, tmp_path, monkeypatch):
    async with staffed_stack(nlu_pool, database_url, tmp_path, monkeypatch, {"alice": ("brand",)},
                             admins=("root",), weibo=True, CAREBOT_RADAR_INTERVAL="3600") as running:
        yield running


async def _complaints(stack) -> None:
    texts = ["投诉！充电器发烫", "差评，充电器很烫手", "投诉：新买的充电器一直发热", "充电器烫得不敢摸，投诉",
             "差评！充电器用了两天就烫手"]
    for (slug, openid), text in zip(WECHAT, texts):
        await stack.push(text, openid, slug)
    await stack.push_weibo("投诉，你们的充电器充电时发烫", FAN)
    # a public post counts too; the bot's answer was passive: the one active reply a mention allows is left
    await stack.push_weibo("@品牌官方 大家注意，充电器发烫差点着火，投诉无门", POSTER, mention=True)
    await stack.push("投诉，快递员把包裹丢在门口", "oOTHER")  # another topic: not a member
    async with stack.rt.db.uow() as session:  # the last WeChat customer wrote three days ago
        thread = (await session.execute(select(Thread).join(Customer).where(Customer.external_id == "oLATE"))).scalar_one()
        thread.last_inbound_at -= timedelta(days=3)
    async with stack.rt.db.uow() as session:
        await radar.scan(session, stack.rt.settings, datetime.now(timezone.utc))


async def _customer_ids(stack) -> dict[str, int]:
    async with stack.rt.db.sessions() as session:
        return dict((external_id, id_) for id_, external_id in await session.execute(
            select(Customer.id, Customer.external_id)))


async def _outbox_count(stack) -> int:
    async with stack.rt.db.sessions() as session:
        return (await session.execute(select(func.count()).select_from(OutboxItem))).scalar_one()


async def test_alert_api_notify_and_close(alert_stack):
    stack = alert_stack
    await _complaints(stack)
    admin, agent = await stack.token("root"), await stack.token("alice")
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", f"{stack.base}/api/v1/alerts?status=open", admin)
        assert status == 200 and len(body["alerts"]) == 1
        alert = body["alerts"][0]
        assert alert["topic"] == "充电器" and alert["count"] == 7 and len(alert["thread_ids"]) == 7
        assert sorted(alert["accounts"]) == ["brand", "other", "weibo"]
        assert {"id", "topic", "accounts", "count", "first_at", "last_at", "thread_ids"} <= set(alert)
        url = f"{stack.base}/api/v1/alerts/{alert['id']}"
        assert (await call(http, "GET", f"{stack.base}/api/v1/alerts?status=maybe", admin))[0] == 400
        assert (await call(http, "GET", f"{stack.base}/api/v1/alerts", agent))[0] == 403

        # bad input changes nothing: no message is queued to anybody
        before = await _outbox_count(stack)
        for text, expected in (("   ", 422), ("充" * 301, 422), ("充" * 700, 422), (42, 422)):
            status, body = await call(http, "POST", url + "/notify", admin, json={"text": text})
            assert status == expected, (text, body)
        assert "微博 300 字" in (await call(http, "POST", url + "/notify", admin, json={"text": "充" * 301}))[1]["error"]
        assert (await call(http, "POST", url + "/notify", agent, json={"text": STATEMENT}))[0] == 403
        assert (await call(http, "POST", f"{stack.base}/api/v1/alerts/999999/notify", admin,
                           json={"text": STATEMENT}))[0] == 404
        assert await _outbox_count(stack) == before

        # oC0 and the Weibo fan are one person (an agent linked them): told once, on the channel used last
        ids = await _customer_ids(stack)
        status, _ = await call(http, "POST", f"{stack.base}/api/v1/customers/{ids['oC0']}/links", admin,
                               json={"customer_id": ids[str(FAN)]})
        assert status == 200
        status, body = await call(http, "POST", url + "/notify", admin, json={"text": STATEMENT})
        assert status == 202 and body["queued"] == 5 and body["outside_window"] == 1, body
        assert body["outside"][0]["account"] == "brand" and "48 小时" in body["outside"][0]["reason"]

        inside = [openid for _, openid in WECHAT[1:4]]
        assert await wait_until(lambda: _async(all(STATEMENT in stack.api.messages_to(o) for o in inside)
                                               and STATEMENT in stack.weibo.messages_to(FAN)
                                               and STATEMENT in stack.weibo.messages_to(POSTER)))
        for never in ("oC0", "oLATE", "oOTHER"):
            assert STATEMENT not in stack.api.messages_to(never)

        # notified customers are not notified twice; the one outside the window is listed again
        status, body = await call(http, "POST", url + "/notify", admin, json={"text": STATEMENT})
        assert status == 202 and body["queued"] == 0 and body["outside_window"] == 1

        assert (await call(http, "POST", url + "/close", admin, json={"reason": "  "}))[0] == 422
        assert (await call(http, "POST", url + "/close", admin, json={}))[0] == 422
        status, body = await call(http, "POST", url + "/close", admin, json={"reason": "供应商批次问题，已召回"})
        assert status == 200 and body["status"] == "closed" and body["closed_by"] == "root"
        assert (await call(http, "POST", url + "/close", admin, json={"reason": "again"}))[0] == 409
        assert (await call(http, "POST", url + "/notify", admin, json={"text": STATEMENT}))[0] == 409
        status, body = await call(http, "GET", f"{stack.base}/api/v1/alerts?status=closed", admin)
        assert [a["close_reason"] for a in body["alerts"]] == ["供应商批次问题，已召回"]
        assert (await call(http, "GET", f"{stack.base}/api/v1/alerts", admin))[1]["alerts"] == []
        spec = (await call(http, "GET", f"{stack.base}/api/v1/openapi.json", admin))[1]
        assert {"/api/v1/alerts", "/api/v1/alerts/{id}/notify", "/api/v1/alerts/{id}/close"} <= set(spec["paths"])
    assert all(stack.api.messages_to(o).count(STATEMENT) == 1 for o in inside)
    async with stack.rt.db.sessions() as session:
        history = await audit.entries(session, "alert", alert["id"])
    assert [(e.action, e.actor) for e in history] == [("alert.notify", "root"), ("alert.notify", "root"),
                                                       ("alert.close", "root")]
    assert history[0].after["queued"] == 5 and history[-1].after["reason"] == "供应商批次问题，已召回"
