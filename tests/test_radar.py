"""The crisis radar with a fixed clock: complaints go through the real pipeline (the shared
default model), the scan groups them by topic and opens one alert per wave."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.conversation.messages import InboundMessage
from bot.conversation.pipeline import Conversation
from bot.desk import privacy, radar
from bot.desk.webhook import WebhookPoster
from bot.nlu.topics import topic_terms
from bot.settings import Settings
from bot.store.models import Alert, AlertMember, Customer, RadarTerm, Thread, Ticket

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
CHARGER = ["投诉！充电器发烫", "我要投诉，你们的充电器很烫手", "差评，新买的充电器一直发热", "充电器烫得不敢摸，投诉",
           "投诉：充电器充一会就发烫", "你们这个充电器太烫了，差评", "投诉充电器发热严重", "差评！充电器用了两天就烫手"]
UNRELATED = ["投诉，快递员把包裹丢在门口", "差评，耳机左边没声音", "投诉你们的退款一直不到账"]


def complaint(text: str, account: str, sender: str) -> InboundMessage:
    return InboundMessage(platform="wechat", account=account, sender=sender, text=text)


async def say(conversation: Conversation, at: datetime, text: str, account: str, sender: str) -> None:
    timed = Conversation(conversation.db, conversation.understand, conversation.settings, clock=lambda: at)
    out = await timed.handle(complaint(text, account, sender))
    assert out.action == "open_ticket", (text, out)


async def scan(conversation: Conversation, now: datetime, **settings: object) -> list[radar.Opened]:
    async with conversation.db.uow() as session:
        return await radar.scan(session, replace(conversation.settings, **settings), now)


def test_topic_terms_share_the_product_across_wordings():
    assert {t for text in CHARGER for t in topic_terms(text)} == {"充电器"}
    assert topic_terms("手機充電器發燙") == ["手机", "充电器"]  # Traditional is read as Simplified
    assert topic_terms("投诉！你们的客服态度太差了") == []  # generic complaint words name nothing


async def test_a_burst_across_two_accounts_opens_one_alert(conversation: Conversation):
    for i, text in enumerate(CHARGER):  # 8 complaints in 20 minutes, alternating accounts
        await say(conversation, T0 + timedelta(minutes=i * 20 / 7), text, ("brand", "other")[i % 2], f"c{i}")
    for i, text in enumerate(UNRELATED):
        await say(conversation, T0 + timedelta(minutes=5 + i), text, "brand", f"u{i}")
    now = T0 + timedelta(minutes=21)
    opened = await scan(conversation, now)
    assert len(opened) == 1
    alert = opened[0]
    assert alert.topic == "充电器" and alert.count == 8 and sorted(alert.accounts) == ["brand", "other"]
    assert len(alert.thread_ids) == 8
    assert (await scan(conversation, now)) == []  # a second scan (another server) opens nothing
    async with conversation.db.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Alert))).scalar_one() == 1
        members = (await session.execute(select(AlertMember))).scalars().all()
        texts = {(await session.get(Ticket, m.ticket_id)).summary for m in members}
    assert texts == set(CHARGER)  # each member's ticket is the one its complaint opened; no unrelated one

    # a later complaint on the topic joins the open alert; another topic does not
    await say(conversation, now + timedelta(minutes=3), "投诉，充电器又烫坏了插座", "other", "late")
    await say(conversation, now + timedelta(minutes=3), "差评，耳机用一天就没声音了，太差了", "brand", "late2")
    assert await scan(conversation, now + timedelta(minutes=4)) == []
    async with conversation.db.sessions() as session:
        row = (await session.execute(select(Alert))).scalar_one()
        assert row.count == 9 and row.last_at == now + timedelta(minutes=3)


async def test_below_the_threshold_or_the_usual_rate_no_alert(conversation: Conversation):
    for i in range(4):
        await say(conversation, T0 + timedelta(minutes=i), CHARGER[i], "brand", f"c{i}")
    assert await scan(conversation, T0 + timedelta(minutes=5)) == []  # 4 < 5
    # with a 10-hour window, 6 complaints the day before make 2.5 the usual count of a window:
    # 6 now is less than 3 times that (a topic that always gets complaints), twice that is a wave
    for i in range(6):
        await say(conversation, T0 - timedelta(hours=20, minutes=i * 3), CHARGER[i], "other", f"d{i}")
    for i in range(4, 6):
        await say(conversation, T0 + timedelta(minutes=i), CHARGER[i], "brand", f"c{i}")
    usual = {"radar_window_minutes": 600, "radar_baseline_days": 1}
    assert await scan(conversation, T0 + timedelta(minutes=10), radar_rate_factor=3.0, **usual) == []
    opened = await scan(conversation, T0 + timedelta(minutes=10), radar_rate_factor=2.0, **usual)
    assert [(a.topic, a.count) for a in opened] == [("充电器", 6)]


async def test_concurrent_scans_open_one_alert(conversation: Conversation):
    for i, text in enumerate(CHARGER[:6]):
        await say(conversation, T0 + timedelta(minutes=i), text, "brand", f"c{i}")
    results = await asyncio.gather(*(scan(conversation, T0 + timedelta(minutes=10)) for _ in range(4)),
                                   return_exceptions=True)
    opened = [a for r in results if isinstance(r, list) for a in r]
    assert len(opened) == 1, results
    async with conversation.db.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Alert))).scalar_one() == 1
        assert (await session.execute(select(func.count()).select_from(AlertMember))).scalar_one() == 6


async def test_an_opened_alert_is_posted_to_the_webhook(conversation: Conversation):
    received: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/alerts", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    for i, text in enumerate(CHARGER[:5]):
        await say(conversation, T0 + timedelta(minutes=i), text, "brand", f"c{i}")
    webhook = WebhookPoster(f"http://127.0.0.1:{port}/hooks/alerts", name="alert", base_delay=0.01)
    watch = radar.RadarWatch(conversation.db, conversation.settings, webhook=webhook,
                             clock=lambda: T0 + timedelta(minutes=6))
    task = asyncio.create_task(webhook.run())
    try:
        assert len(await watch.check()) == 1
        assert await watch.check() == []  # reported once
        for _ in range(200):
            if received:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await runner.cleanup()
    assert len(received) == 1
    body = received[0]
    assert body["event"] == "alert.opened" and body["topic"] == "充电器" and body["count"] == 5
    assert body["accounts"] == ["brand"] and len(body["thread_ids"]) == 5


async def test_account_scope_counts_each_account_alone(conversation: Conversation):
    for i, text in enumerate(CHARGER):  # 5 on brand, 3 on other
        await say(conversation, T0 + timedelta(minutes=i), text, "brand" if i < 5 else "other", f"c{i}")
    opened = await scan(conversation, T0 + timedelta(minutes=10), radar_scope="account")
    assert [(a.topic, a.accounts, a.count) for a in opened] == [("充电器", ["brand"], 5)]
    assert await scan(conversation, T0 + timedelta(minutes=10), radar_scope="account", radar_min_count=6) == []


def test_radar_settings_are_checked():
    for env in ({"CAREBOT_RADAR_SCOPE": "everywhere"}, {"CAREBOT_RADAR_MIN_COUNT": "0"},
                {"CAREBOT_RADAR_RATE_FACTOR": "-1"}):
        with pytest.raises(ValueError, match="CAREBOT_RADAR_"):
            Settings.from_env(env)



async def _terms(conversation: Conversation, sender: str | int) -> list[str]:
    """The stored topic terms of one customer's complaints (by external id, or row id)."""
    whose = Customer.id == sender if isinstance(sender, int) else Customer.external_id == sender
    async with conversation.db.sessions() as session:
        return list((await session.execute(
            select(RadarTerm.term).join(Thread, Thread.id == RadarTerm.thread_id)
            .join(Customer, Customer.id == Thread.customer_id).where(whose).order_by(RadarTerm.id))).scalars())


async def test_an_erased_customer_leaves_no_topic_terms(conversation: Conversation):
    """A term can name a person: an erase deletes the customer's terms (a later scan finds nothing
    to read in the erased text); the alert keeps the complaint as a count."""
    await say(conversation, T0, "投诉！我是张伟，买的充电器发烫", "brand", "named")
    for i, text in enumerate(CHARGER[:4]):
        await say(conversation, T0 + timedelta(minutes=i + 1), text, "brand", f"c{i}")
    assert [a.count for a in await scan(conversation, T0 + timedelta(minutes=6))] == [5]
    assert await _terms(conversation, "named") == ["张伟", "充电器"]
    async with conversation.db.uow() as session:
        customer = (await session.execute(select(Customer).where(Customer.external_id == "named"))).scalar_one()
        await privacy.erase(session, customer.id, actor="root", now=T0 + timedelta(minutes=7))
    assert await _terms(conversation, customer.id) == []
    assert await scan(conversation, T0 + timedelta(minutes=8)) == []
    assert not {"张伟", "充电器"} & set(await _terms(conversation, customer.id))
    async with conversation.db.sessions() as session:
        assert (await session.execute(select(Alert))).scalar_one().count == 5
        assert (await session.execute(select(func.count()).select_from(RadarTerm)
                                      .where(RadarTerm.term == "充电器"))).scalar_one() == 4


async def test_terms_older_than_the_trailing_days_are_forgotten(conversation: Conversation):
    await say(conversation, T0 - timedelta(days=8), CHARGER[0], "brand", "old")
    await say(conversation, T0 - timedelta(days=6), CHARGER[1], "brand", "recent")
    await scan(conversation, T0 - timedelta(days=6))  # reads both
    assert await _terms(conversation, "old") == ["充电器"]
    await scan(conversation, T0)  # 7 baseline days + the window: the first is past them
    assert await _terms(conversation, "old") == [] and await _terms(conversation, "recent") == ["充电器"]


async def test_one_angry_customer_is_not_a_wave(conversation: Conversation):
    """The threshold counts customers (people), not messages: one customer repeating a complaint
    while the thread waits for people does not open an alert; a fifth customer does, and every
    complaint joins it."""
    timed = Conversation(conversation.db, conversation.understand, conversation.settings, clock=lambda: T0)
    for text in CHARGER[:5]:
        await timed.handle(complaint(text, "brand", "angry"))
    for i, text in enumerate(CHARGER[5:8]):
        await say(conversation, T0 + timedelta(minutes=i + 1), text, "brand", f"c{i}")
    assert await scan(conversation, T0 + timedelta(minutes=5)) == []  # 8 complaints, 4 customers
    await say(conversation, T0 + timedelta(minutes=6), CHARGER[0], "other", "fifth")
    opened = await scan(conversation, T0 + timedelta(minutes=7))
    assert [(a.topic, a.count) for a in opened] == [("充电器", 9)]
