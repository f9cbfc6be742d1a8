"""WeChat end to end over real HTTP: the simulated WeChat server pushes to carebot's real
web app (real model, real database: SQLite and PostgreSQL), replies go out to the fake
WeChat API. Only the platform is fake."""
import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select

from devkit import wechat_push as wx
from devkit import wechat_xml as wxml
from devkit.wechat_api import FakeWeChatState, start_fake_wechat_api
from bot.desk import replies
from bot.nlu.pool import NluPool
from bot.secret_box import seal
from bot.store import accounts
from bot.store.models import Customer, Message, OutboxItem, Ticket
from tests.conftest import make_settings
from tests.e2e import SECRET_KEY, Probe, serving

APPID, SECRET, TOKEN = "wx_test_app_0001", "app-secret-0001", "carebotToken42"
OPENID = "oUSERtest000000000000000001"
PLATFORM_TIMEOUT = 1.5  # seconds: a fake API slower than this has timed out


@dataclass
class Stack(Probe):
    url: str = ""
    api: FakeWeChatState | None = None
    aes_key: str = ""

    async def push(self, xml: str, mode: str = "plain", **kwargs) -> wx.PushResult:
        return await wx.push(self.url, TOKEN, xml, mode=mode, aes_key=self.aes_key, appid=APPID, **kwargs)


@pytest_asyncio.fixture
async def stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CAREBOT_SECRET_KEY", SECRET_KEY)
    api_runner, api_base, api = await start_fake_wechat_api(state=FakeWeChatState(apps={APPID: SECRET}))
    api.add_user(OPENID)
    settings = make_settings(tmp_path, database_url, CAREBOT_BUSINESS_HOURS="00:00-23:59",
                             CAREBOT_WECHAT_API_BASE=api_base, CAREBOT_PLATFORM_TIMEOUT=str(PLATFORM_TIMEOUT))
    aes_key = wx.new_aes_key()
    sealed = {"secret": seal(SECRET), "token": seal(TOKEN), "aes_key": seal(aes_key)}
    try:
        async with serving(nlu_pool, settings, lambda session: accounts.add(
                session, platform="wechat", slug="brand", name="Brand", app_id=APPID, sealed=sealed)) as (base, rt):
            yield Stack(rt, f"{base}/webhooks/wechat/brand", api, aes_key)
    finally:
        await api_runner.cleanup()


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_faq_answered_passively_in_every_mode(stack: Stack, mode: str):
    result = await stack.push(wxml.text_xml("运费多少 满多少包邮", openid=OPENID), mode=mode)
    assert result.status == 200 and result.reply is not None, result
    assert result.reply["MsgType"] == "text" and result.reply["ToUserName"] == OPENID
    assert result.encrypted == (mode != "plain")
    async with stack.rt.db.sessions() as session:
        row = (await session.execute(select(Message).where(Message.direction == "in"))).scalar_one()
        reply = (await session.execute(select(Message).where(Message.direction == "out"))).scalar_one()
    assert row.intent == "faq/shipping_fee" and reply.text == result.reply["Content"]
    assert reply.state == "passive"


async def test_url_verification(stack: Stack):
    async with aiohttp.ClientSession() as http:
        good = await wx.verify_url(stack.url, TOKEN, "echo123", session=http)
        bad = await wx.verify_url(stack.url, TOKEN, "echo123", session=http, bad_signature=True)
    assert good.ok_for("echo123") and not bad.ok_for("echo123")


async def test_complaint_opens_ticket(stack: Stack):
    result = await stack.push(wxml.text_xml("收到的充电宝是坏的，质量太差了，我要投诉", openid=OPENID), mode="safe")
    assert result.reply and "T" in result.reply["Content"]
    async with stack.rt.db.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.number in result.reply["Content"]


async def test_same_msgid_three_times_one_message_identical_replies(stack: Stack):
    xml = wxml.text_xml("怎么开发票", openid=OPENID, msg_id="1234567890123456")
    results = [await stack.push(xml, mode="compat") for _ in range(3)]
    assert results[0].reply and all(r.reply["Content"] == results[0].reply["Content"] for r in results[1:])
    assert await stack.count(Message, Message.direction == "in") == 1
    assert await stack.count(Message, Message.direction == "out") == 1


async def test_concurrent_retries_answer_once(stack: Stack):
    xml = wxml.text_xml("退款多久到账", openid=OPENID, msg_id="99887766554433")
    results = await asyncio.gather(*(stack.push(xml) for _ in range(3)))
    answered = [r for r in results if r.reply]
    assert len(answered) >= 1 and all(r.status == 200 for r in results)
    assert await stack.count(Message, Message.direction == "out") == 1
    assert not stack.api.delivered  # nothing went twice, nothing through the API


async def test_slow_bot_acknowledges_then_delivers_through_the_api(stack: Stack):
    stack.rt.settings = replace(stack.rt.settings, passive_budget=0.0)  # the bot is always too slow
    stack.api.user_message(OPENID)
    result = await stack.push(wxml.text_xml("怎么查物流", openid=OPENID))
    assert result.status == 200 and result.reply is None  # "success"

    async def sent() -> bool:  # delivered, and the sender has recorded it
        return bool(stack.api.delivered) and await stack.count(Message, Message.state == "sent") == 1

    assert await stack.wait_for(sent)
    assert stack.api.delivered[0].openid == OPENID
    async with stack.rt.db.sessions() as session:
        reply = (await session.execute(select(Message).where(Message.direction == "out"))).scalar_one()
    assert reply.state == "sent" and reply.text == stack.api.delivered[0].content


async def test_api_timeout_is_retried_and_the_reply_delivered_once(stack: Stack):
    """The API answers later than CAREBOT_PLATFORM_TIMEOUT (and so delivers nothing): the row is
    retried with backoff and goes out once the API is quick again."""
    stack.rt.settings = replace(stack.rt.settings, passive_budget=0.0)  # the bot is always too slow
    stack.api.user_message(OPENID)
    await stack.push(wxml.text_xml("怎么开发票", openid=OPENID))  # a token is fetched, the reply sent
    assert await stack.reaches("sent")
    stack.api.set_delay(PLATFORM_TIMEOUT * 2)
    await stack.push(wxml.text_xml("怎么查物流", openid=OPENID))

    async def timed_out() -> bool:  # the first attempt failed, and the fake dropped the call
        return (await stack.count(OutboxItem, OutboxItem.last_error.is_not(None)) == 1
                and any(call.status == 0 for call in stack.api.calls))

    assert await stack.wait_for(timed_out)
    assert len(stack.api.delivered) == 1
    stack.api.set_delay(0)
    assert await stack.reaches("sent", 2)
    async with stack.rt.db.sessions() as session:
        items = list((await session.execute(select(OutboxItem).order_by(OutboxItem.id))).scalars())
    assert items[0].attempts == 1 and items[1].attempts >= 2 and items[1].last_error is None
    assert [d.content for d in stack.api.delivered] == [item.payload["text"] for item in items]  # once each


async def test_permanent_error_marks_failed_with_reason(stack: Stack):
    stack.rt.settings = replace(stack.rt.settings, passive_budget=0.0)  # the bot is always too slow
    stack.api.force_errcode(45015, count=10)
    await stack.push(wxml.text_xml("怎么查物流", openid=OPENID))
    assert await stack.reaches("failed")
    async with stack.rt.db.sessions() as session:
        reply = (await session.execute(select(Message).where(Message.direction == "out"))).scalar_one()
        item = (await session.execute(select(OutboxItem))).scalar_one()
    assert "48小时" in reply.error and item.attempts == 1  # no retry on 45015
    assert not stack.api.delivered


async def test_events(stack: Stack):
    welcome = await stack.push(wxml.subscribe_xml(openid=OPENID))
    assert welcome.reply and "关注" in welcome.reply["Content"]
    handoff = await stack.push(wxml.click_xml("HUMAN_AGENT", openid=OPENID))
    assert handoff.reply and "人工" in handoff.reply["Content"]
    silent = await stack.push(wxml.text_xml("在吗在吗", openid=OPENID))
    assert silent.reply is not None and silent.reply["Content"] == "已为您转接人工客服，请稍候"
    await stack.push(wxml.unsubscribe_xml(openid=OPENID))
    async with stack.rt.db.sessions() as session:
        customer = (await session.execute(select(Customer))).scalar_one()
    assert customer.unsubscribed


async def test_voice_and_media(stack: Stack):
    voice = await stack.push(wxml.voice_xml(recognition="怎么开发票", openid=OPENID))
    assert voice.reply and "发票" in voice.reply["Content"]
    image = await stack.push(wxml.image_xml(openid=OPENID))
    assert image.reply and "文字" in image.reply["Content"]


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_hostile_requests_are_refused_and_nothing_is_stored(stack: Stack, mode: str):
    cases = wx.bad_requests(stack.url, TOKEN, mode=mode, aes_key=stack.aes_key, appid=APPID, oversize=100_000)
    expected = {"wrong_signature": 403, "missing_signature": 403, "wrong_msg_signature": 403,
                "foreign_appid": 403, "oversize_body": 413}
    async with aiohttp.ClientSession() as http:
        for name, prepared in cases.items():
            result = await wx.send_prepared(prepared, session=http)
            assert result.status == expected.get(name, 400), (name, result.status, result.body)
            assert result.reply is None
    assert await stack.count(Message) == 0


async def test_unknown_slug(stack: Stack):
    result = await wx.push(stack.url.replace("/brand", "/nobody"), TOKEN, wxml.text_xml("hi"))
    assert result.status == 404


async def test_handoff_then_agent_reply_reaches_the_customer_and_the_window_is_enforced(stack: Stack):
    stack.api.user_message(OPENID)
    handoff = await stack.push(wxml.text_xml("转人工", openid=OPENID))
    assert handoff.reply and "人工" in handoff.reply["Content"]
    async with stack.rt.db.sessions() as session:
        thread_id = (await session.execute(select(Message.thread_id))).scalars().first()
    now = datetime.now(timezone.utc)
    for i in range(5):
        await _agent_reply(stack, thread_id, f"您好，我是客服小李（{i}）", now)
    with pytest.raises(replies.ReplyRefused, match="已达平台上限"):
        await _agent_reply(stack, thread_id, "第六条", now)
    assert await stack.wait_for(lambda: _count_delivered(stack, 5))
    assert [d.content for d in stack.api.delivered] == [f"您好，我是客服小李（{i}）" for i in range(5)]
    with pytest.raises(replies.ReplyRefused, match="48 小时"):
        await _agent_reply(stack, thread_id, "太晚了", now + timedelta(hours=49))
    await stack.push(wxml.text_xml("还在吗", openid=OPENID))  # a new customer message reopens the window
    await _agent_reply(stack, thread_id, "在的", datetime.now(timezone.utc))


async def _agent_reply(stack: Stack, thread_id: int, text: str, now: datetime) -> None:
    async with stack.rt.db.uow() as session:  # as the web handler opens it
        await replies.send(session, stack.rt.settings, thread_id=thread_id, agent_id=None, text=text, now=now)


async def _count_delivered(stack: Stack, n: int) -> bool:
    return len(stack.api.delivered) >= n
