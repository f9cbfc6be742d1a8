"""Weibo end to end over real HTTP: the simulated Weibo platform pushes to carebot's real web
app (real model, real database: SQLite and PostgreSQL), replies go out to the fake Weibo
reply API. Only the platform is fake."""
import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select, update

from devkit import weibo_push as wb
from devkit.weibo_api import WINDOW_ERROR, FakeWeiboState, start_fake_weibo_api
from bot.desk import replies
from bot.nlu.pool import NluPool
from bot.secret_box import seal
from bot.store import accounts
from bot.store.models import Customer, FaqAnswer, FaqIntent, Message, OutboxItem, Thread, Ticket
from tests.conftest import make_settings
from tests.e2e import SECRET_KEY, Probe, serving

APP_SECRET, ACCESS_TOKEN = "weibo-app-secret-0001", "2.00weiboAccessToken0001"
ACCOUNT_UID, FAN = "1902538057", 2489518277
COMPLAINT = "收到的充电宝是坏的，质量太差了，我要投诉"
PLATFORM_TIMEOUT = 1.5  # seconds: a fake API slower than this has timed out


@dataclass
class Stack(Probe):
    url: str = ""
    api: FakeWeiboState | None = None

    async def push(self, message: dict, **signing) -> wb.PushResult:
        return await wb.push(self.url, APP_SECRET, message, **signing)

    async def thread_id(self) -> int:
        async with self.rt.db.sessions() as session:
            return (await session.execute(select(Thread.id))).scalar_one()

    async def agent_reply(self, text: str, now: datetime | None = None) -> Message:
        thread_id = await self.thread_id()
        async with self.rt.db.uow() as session:
            return await replies.send(session, self.rt.settings, thread_id=thread_id, agent_id=None,
                                      text=text, now=now or datetime.now(timezone.utc))

    def too_slow(self) -> None:
        self.rt.settings = replace(self.rt.settings, passive_budget=0.0)  # the bot is always too slow

    async def outbound(self) -> Message:
        async with self.rt.db.sessions() as session:
            return (await session.execute(select(Message).where(Message.direction == "out"))).scalar_one()


@pytest_asyncio.fixture
async def stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CAREBOT_SECRET_KEY", SECRET_KEY)
    api_runner, api_base, api = await start_fake_weibo_api(state=FakeWeiboState(tokens={ACCESS_TOKEN: ACCOUNT_UID}))
    settings = make_settings(tmp_path, database_url, CAREBOT_BUSINESS_HOURS="00:00-23:59",
                             CAREBOT_WEIBO_API_BASE=api_base, CAREBOT_PLATFORM_TIMEOUT=str(PLATFORM_TIMEOUT))
    sealed = {"app_secret": seal(APP_SECRET), "access_token": seal(ACCESS_TOKEN)}
    try:
        async with serving(nlu_pool, settings, lambda session: accounts.add(
                session, platform="weibo", slug="brand", name="Brand", app_id=ACCOUNT_UID, sealed=sealed)) as (base, rt):
            yield Stack(rt, f"{base}/webhooks/weibo/brand", api)
    finally:
        await api_runner.cleanup()


def to_fan(**kwargs) -> dict:
    return {"sender_id": FAN, "receiver_id": int(ACCOUNT_UID), **kwargs}


async def test_url_verification(stack: Stack):
    async with aiohttp.ClientSession() as http:
        assert await wb.verify_url(stack.url, APP_SECRET, "echo123", session=http) == (200, "echo123")
        status, _ = await wb.verify_url(stack.url, APP_SECRET, "echo123", session=http, bad_signature=True)
    assert status == 403


async def test_faq_answered_passively(stack: Stack):
    result = await stack.push(wb.text_push("运费多少 满多少包邮", **to_fan()))
    assert result.ok and result.reply is not None, result
    assert result.reply["receiver_id"] == str(FAN) and result.reply["sender_id"] == ACCOUNT_UID
    async with stack.rt.db.sessions() as session:
        inbound = (await session.execute(select(Message).where(Message.direction == "in"))).scalar_one()
    reply = await stack.outbound()
    assert inbound.intent == "faq/shipping_fee" and reply.text == result.reply["text"]
    assert reply.state == "passive" and not stack.api.delivered


async def test_long_answer_is_shortened_and_the_rest_goes_through_the_api(stack: Stack):
    long_answer = "".join(f"第{i}条：满99元包邮，偏远地区除外。" for i in range(40))  # about 700 characters
    async with stack.rt.db.uow() as session:
        intent_id = (await session.execute(select(FaqIntent.id).where(FaqIntent.name == "faq/shipping_fee"))).scalar_one()
        await session.execute(update(FaqAnswer).where(FaqAnswer.intent_id == intent_id).values(text=long_answer))
    stack.api.user_message(FAN)
    result = await stack.push(wb.text_push("运费多少 满多少包邮", **to_fan()))
    assert result.ok and len(result.reply["text"]) == wb.MAX_REPLY_CHARS
    assert await stack.wait_for(lambda: _delivered(stack, 2))
    assert result.reply["text"] + "".join(stack.api.messages_to(FAN)) == long_answer
    assert all(len(part) <= wb.MAX_REPLY_CHARS for part in stack.api.messages_to(FAN))


@pytest.mark.parametrize("public, priority", [(False, "high"), (True, "urgent")])
async def test_complaint_opens_a_ticket_urgent_when_said_in_public(stack: Stack, public: bool, priority: str):
    build = wb.mention_push if public else wb.text_push
    result = await stack.push(build(COMPLAINT, **to_fan()))
    async with stack.rt.db.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert result.ok and ticket.number in result.reply["text"]
    assert ticket.priority == priority


async def test_handoff_then_agent_replies_through_the_api_within_48_hours(stack: Stack):
    stack.api.user_message(FAN)
    handoff = await stack.push(wb.text_push("转人工", **to_fan()))
    assert handoff.ok and "人工" in handoff.reply["text"]
    for i in range(7):  # Weibo counts no replies within the 48 h (WeChat would refuse the 6th)
        await stack.agent_reply(f"您好，我是客服小李（{i}）")
    assert await stack.wait_for(lambda: _delivered(stack, 7))
    assert stack.api.messages_to(FAN) == [f"您好，我是客服小李（{i}）" for i in range(7)]
    with pytest.raises(replies.ReplyRefused, match="48 小时"):
        await stack.agent_reply("太晚了", now=datetime.now(timezone.utc) + timedelta(hours=49))


async def test_after_a_mention_only_one_reply(stack: Stack):
    stack.api.user_mention(FAN)
    result = await stack.push(wb.mention_push("@品牌 转人工", **to_fan()))
    assert result.ok and "人工" in result.reply["text"]
    await stack.agent_reply("您好，已看到您的微博，我们私信沟通")
    with pytest.raises(replies.ReplyRefused, match="只允许回复 1 条"):
        await stack.agent_reply("第二条")
    assert await stack.wait_for(lambda: _delivered(stack, 1))
    stack.api.user_message(FAN)
    await stack.push(wb.text_push("好的，订单号 12345", **to_fan()))  # a private message: the window opens
    await stack.agent_reply("收到，马上处理")
    assert await stack.wait_for(lambda: _delivered(stack, 2))


async def test_the_fake_refuses_a_second_reply_after_a_mention(stack: Stack):
    """Were carebot's window check wrong, the platform's would fail the message."""
    stack.api.user_mention(FAN)
    stack.too_slow()
    await stack.push(wb.mention_push("@品牌 怎么开发票", **to_fan()))
    assert await stack.wait_for(lambda: _delivered(stack, 1))
    stack.rt.settings = replace(stack.rt.settings, weibo_mention_replies=5)  # carebot misconfigured
    await stack.agent_reply("补充一条")
    assert await stack.reaches("failed")
    assert stack.api.calls[-1].error_code == WINDOW_ERROR


async def test_same_push_three_times_is_one_message(stack: Stack):
    message = wb.text_push("怎么开发票", **to_fan())
    results = [await stack.push(message) for _ in range(3)]
    assert all(r.ok for r in results) and results[0].reply
    assert all(r.reply["text"] == results[0].reply["text"] for r in results[1:])
    assert await stack.count(Message, Message.direction == "in") == 1
    assert await stack.count(Message, Message.direction == "out") == 1


async def test_concurrent_retries_answer_once(stack: Stack):
    message = wb.text_push("退款多久到账", **to_fan())
    results = await asyncio.gather(*(stack.push(message) for _ in range(3)))
    assert all(r.ok for r in results) and any(r.reply for r in results)
    assert await stack.count(Message, Message.direction == "out") == 1
    assert not stack.api.delivered


async def test_slow_bot_acknowledges_with_an_empty_body_then_delivers_through_the_api(stack: Stack):
    stack.too_slow()
    stack.api.user_message(FAN)
    result = await stack.push(wb.text_push("怎么查物流", **to_fan()))
    assert result.ok and result.reply is None and result.body == ""
    assert await stack.reaches("sent")  # delivered, and the sender has recorded it
    assert stack.api.delivered[0].receiver_id == str(FAN)
    assert (await stack.outbound()).text == stack.api.delivered[0].text


async def test_api_timeout_is_retried_and_the_reply_delivered_once(stack: Stack):
    """The reply API answers later than CAREBOT_PLATFORM_TIMEOUT (and so delivers nothing): the
    row is retried with backoff and goes out once the API is quick again."""
    stack.too_slow()
    stack.api.user_message(FAN)
    stack.api.delay = PLATFORM_TIMEOUT * 2
    await stack.push(wb.text_push("怎么查物流", **to_fan()))

    async def timed_out() -> bool:  # the first attempt failed, and the fake dropped the call
        return (await stack.count(OutboxItem, OutboxItem.last_error.is_not(None)) == 1
                and [c.status for c in stack.api.calls][:1] == [0])

    assert await stack.wait_for(timed_out)
    assert not stack.api.delivered
    stack.api.delay = 0
    assert await stack.reaches("sent")
    async with stack.rt.db.sessions() as session:
        item = (await session.execute(select(OutboxItem))).scalar_one()
    assert item.attempts >= 2 and item.last_error is None and len(stack.api.delivered) == 1
    assert stack.api.delivered[0].text == (await stack.outbound()).text


@pytest.mark.parametrize("code, words", [(21327, "过期"), (21332, "无效")])
async def test_expired_or_invalid_token_fails_with_a_reason_for_the_admin(stack: Stack, code: int, words: str):
    stack.too_slow()
    stack.api.user_message(FAN)
    if code == 21327:
        stack.api.expire_token(ACCESS_TOKEN)
    else:
        stack.api.tokens.clear()
    await stack.push(wb.text_push("怎么查物流", **to_fan()))
    assert await stack.reaches("failed")
    async with stack.rt.db.sessions() as session:
        item = (await session.execute(select(OutboxItem))).scalar_one()
    reply = await stack.outbound()
    assert words in reply.error and "管理员" in reply.error and item.attempts == 1  # no retry
    assert not stack.api.delivered and stack.api.calls[0].error_code == code


async def test_rate_limit_is_retried(stack: Stack):
    stack.too_slow()
    stack.api.user_message(FAN)
    stack.api.force_error(10023)
    await stack.push(wb.text_push("怎么查物流", **to_fan()))
    assert await stack.reaches("sent")
    async with stack.rt.db.sessions() as session:
        item = (await session.execute(select(OutboxItem))).scalar_one()
    assert [c.error_code for c in stack.api.calls] == [10023, None] and item.attempts == 2
    assert len(stack.api.delivered) == 1


async def test_hostile_requests_are_refused_and_nothing_is_stored(stack: Stack):
    async with aiohttp.ClientSession() as http:
        for name, (prepared, expected) in wb.bad_requests(stack.url, APP_SECRET).items():
            result = await wb.send_prepared(prepared, session=http)
            assert result.status == expected, (name, result.status, result.body)
            assert result.reply is None
        other_account = await wb.push(stack.url, APP_SECRET, wb.text_push("hi", sender_id=FAN, receiver_id=42),
                                      session=http)
        assert other_account.status == 403, other_account.body
    unknown_slug = await wb.push(stack.url.replace("/brand", "/nobody"), APP_SECRET, wb.text_push("hi"))
    assert unknown_slug.status == 404
    assert await stack.count(Message) == 0


async def test_unknown_types_are_stored_and_acknowledged(stack: Stack):
    result = await stack.push(wb.message("sticker", "", {"sticker_id": 7}, **to_fan()))
    assert result.ok and result.reply is None and result.body == ""
    async with stack.rt.db.sessions() as session:
        stored = (await session.execute(select(Message))).scalar_one()
    assert stored.msg_type == "unknown" and stored.raw["type"] == "sticker" and stored.action == "ignored"


async def test_media_and_position_are_stored_with_their_ids(stack: Stack):
    image = await stack.push(wb.image_push(vfid=821804459, **to_fan()))
    assert image.ok and "文字" in image.reply["text"]
    position = await stack.push(wb.position_push(116.397, 39.916, **to_fan()))
    assert position.ok
    async with stack.rt.db.sessions() as session:
        rows = list((await session.execute(select(Message).where(Message.direction == "in")
                                           .order_by(Message.id))).scalars())
    assert rows[0].msg_type == "image" and "821804459" in rows[0].text  # agents see the fid
    assert rows[1].msg_type == "location" and "116.397" in rows[1].text


async def test_big_ids_stay_exact(stack: Stack):
    big = 2**63 - 1
    await stack.push(wb.text_push("在吗", sender_id=big, receiver_id=int(ACCOUNT_UID)))
    async with stack.rt.db.sessions() as session:
        customer = (await session.execute(select(Customer))).scalar_one()
    assert customer.external_id == str(big)


async def test_events_follow_click_unfollow(stack: Stack):
    welcome = await stack.push(wb.event_push("follow", **to_fan()))
    assert welcome.ok and "关注" in welcome.reply["text"]
    handoff = await stack.push(wb.event_push("click", "HUMAN_AGENT", **to_fan()))
    assert handoff.ok and "人工" in handoff.reply["text"]
    silent = await stack.push(wb.text_push("在吗在吗", **to_fan()))
    assert silent.ok and silent.reply["text"] == "已为您转接人工客服，请稍候"
    gone = await stack.push(wb.event_push("unfollow", **to_fan()))
    assert gone.ok and gone.reply is None
    async with stack.rt.db.sessions() as session:
        customer = (await session.execute(select(Customer))).scalar_one()
    assert customer.unsubscribed
    with pytest.raises(replies.ReplyRefused, match="取消关注"):
        await stack.agent_reply("还在吗")


async def _delivered(stack: Stack, n: int) -> bool:
    return len(stack.api.delivered) >= n
