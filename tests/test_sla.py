"""SLA clocks: business time with holidays, pausing while pending, first response by the
first agent reply, breaches detected once by concurrent checkers, the breach webhook."""
import asyncio
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bot.business_time import Calendar, CalendarError, calendar, parse_hours
from bot.desk import replies
from bot.desk import ticketing
from bot.desk.access import Viewer
from bot.store.sla import Breach
from bot.desk.sla_watch import SlaWatch
from bot.desk.webhook import WebhookPoster
from bot.settings import Settings
from bot.store import accounts, sla, threads, tickets
from bot.store.db import Database
from bot.store.models import AuditEntry, Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = Calendar(SHANGHAI, time(9), time(18), frozenset({1, 2, 3, 4, 5}), frozenset({date(2026, 12, 8)}))
ADMIN = Viewer(0, "lead", "组长", "admin", None)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def test_business_time_skips_nights_weekends_and_holidays():
    assert WEEKDAYS.add(local(1, 10), timedelta(minutes=30)) == local(1, 10, 30)
    assert WEEKDAYS.add(local(1, 17, 45), timedelta(minutes=30)) == local(2, 9, 15)  # overnight
    assert WEEKDAYS.add(local(1, 22), timedelta(hours=1)) == local(2, 10)  # starts closed
    assert WEEKDAYS.add(local(4, 17), timedelta(hours=2)) == local(7, 10)  # Friday -> Monday
    assert WEEKDAYS.add(local(7, 17), timedelta(hours=2)) == local(9, 10)  # Tuesday 8th is a holiday
    assert WEEKDAYS.between(local(4, 17), local(7, 10)) == timedelta(hours=2)
    assert WEEKDAYS.between(local(7, 10), local(4, 17)) == timedelta(0)
    assert WEEKDAYS.add(local(5, 12), timedelta(0)) == local(7, 9)  # Saturday: the clock starts Monday


def test_hours_text_and_bad_calendars():
    assert parse_hours("09:00-18:00 1-5") == (time(9), time(18), frozenset({1, 2, 3, 4, 5}))
    assert parse_hours("08:30-20:00 1,3,6-7")[2] == frozenset({1, 3, 6, 7})
    assert parse_hours("10:00-19:00")[2] is None
    for bad in ("9-18", "18:00-09:00", "09:00-18:00 0-5", "25:00-26:00"):
        with pytest.raises(CalendarError):
            parse_hours(bad)
    settings = Settings.from_env({})
    own = calendar(settings, "10:00-16:00 6-7")
    assert (own.opens, own.closes, own.days) == (time(10), time(16), frozenset({6, 7}))
    with pytest.raises(CalendarError):
        Calendar(SHANGHAI, time(9), time(18), frozenset({1}), frozenset(
            date(2026, 1, 5) + timedelta(weeks=w) for w in range(600))).add(local(1, 10), timedelta(hours=1))


async def setup_db(url: str) -> Database:
    db = Database(url)
    await db.migrate()
    return db


async def new_ticket(db: Database, settings: Settings, sender: str, now: datetime, priority: str = "high",
                     hours: str | None = "09:00-18:00 1-5") -> int:
    async with db.uow() as session:
        account = await accounts.ensure(session, "wechat", "brand")
        sla.set_hours(account, hours)
        thread = await threads.ensure_thread(session, account, sender, now)
        thread.last_inbound_at = now
        ticket = await tickets.create(session, thread_id=thread.id, customer_id=thread.customer_id,
                                      priority=priority, summary="坏了", now=now, timezone=settings.timezone)
        await sla.start(session, settings, ticket, account.id)
        return ticket.id


async def get_ticket(db: Database, ticket_id: int) -> Ticket:
    async with db.sessions() as session:
        return (await session.execute(select(Ticket).where(Ticket.id == ticket_id))).scalar_one()


async def change(db: Database, settings: Settings, ticket_id: int, now: datetime, **changes):
    async with db.uow() as session:
        return await ticketing.change(session, settings, ADMIN, ticket_id, changes, now)


async def test_due_times_pause_while_pending_and_follow_priority(database_url: str):
    db = await setup_db(database_url)
    settings = Settings.from_env({})
    async with db.uow() as session:
        await sla.set_targets(session, settings, "high", first_response_minutes=30, resolution_minutes=8 * 60,
                              now=local(1, 9))
        await sla.add_holidays(session, await accounts.ensure(session, "wechat", "brand"), [date(2026, 12, 2)])
    ticket_id = await new_ticket(db, settings, "u1", local(1, 16))  # Tuesday 16:00, Wednesday a holiday
    ticket = await get_ticket(db, ticket_id)
    assert ticket.first_response_due == local(1, 16, 30)
    assert ticket.resolution_due == local(3, 15)  # 2 h Tuesday + 6 h Thursday

    await change(db, settings, ticket_id, local(1, 17), status="pending")  # customer's turn: clock stops
    paused = await get_ticket(db, ticket_id)
    assert paused.resolution_due is None and paused.first_response_due is None
    await change(db, settings, ticket_id, local(3, 11), status="open")  # 1 h Tue + 2 h Thu paused
    resumed = await get_ticket(db, ticket_id)
    assert resumed.sla_paused_seconds == 3 * 3600 and resumed.sla_paused_at is None
    assert resumed.resolution_due == local(3, 18)  # 3 h later than before

    await change(db, settings, ticket_id, local(3, 11), priority="urgent")  # 4 h from creation + 3 h paused
    assert (await get_ticket(db, ticket_id)).resolution_due == local(3, 14)
    await change(db, settings, ticket_id, local(3, 12), status="resolved")
    done = await get_ticket(db, ticket_id)
    assert done.resolved_at == local(3, 12)
    async with db.sessions() as session:
        history = await ticketing.history(session, ticket_id)
    assert [(e.before, e.after) for e in history][-1] == ({"status": "open"}, {"status": "resolved"})
    assert history[0].actor == "lead" and history[0].after == {"status": "pending"}
    await db.dispose()


async def test_bad_changes_are_refused_and_change_nothing(database_url: str):
    db = await setup_db(database_url)
    settings = Settings.from_env({})
    ticket_id = await new_ticket(db, settings, "u1", local(1, 10))
    for changes, field in (({"status": "done"}, "status"), ({"priority": "asap"}, "priority"),
                           ({"category": ""}, "category"), ({"number": "T1"}, "number"),
                           ({"status": "open", "assignee": "nobody"}, "assignee")):
        with pytest.raises(ticketing.TicketChangeRefused) as refused:
            await change(db, settings, ticket_id, local(1, 11), **changes)
        assert refused.value.field == field and refused.value.reason
    ticket = await get_ticket(db, ticket_id)
    assert ticket.status == "new" and ticket.priority == "high"
    async with db.sessions() as session:
        assert (await session.execute(select(AuditEntry))).scalars().first() is None
    with pytest.raises(ValueError):
        async with db.uow() as session:
            await sla.set_targets(session, settings, "high", first_response_minutes=60, resolution_minutes=30,
                                  now=local(1, 9))
    await db.dispose()


async def test_first_agent_reply_meets_the_first_response(database_url: str):
    db = await setup_db(database_url)
    settings = Settings.from_env({})
    ticket_id = await new_ticket(db, settings, "u1", local(1, 10))
    ticket = await get_ticket(db, ticket_id)
    for text, at in (("您好，马上为您处理", local(1, 10, 5)), ("已处理", local(1, 10, 20))):
        async with db.uow() as session:
            await replies.send(session, settings, thread_id=ticket.thread_id, agent_id=None, text=text, now=at)
    assert (await get_ticket(db, ticket_id)).first_response_at == local(1, 10, 5)
    watch = SlaWatch(db, interval=1, clock=lambda: local(1, 12))
    assert await watch.check() == []  # first response met; resolution not due yet
    await db.dispose()


async def test_breach_marked_exactly_once_by_concurrent_checkers(database_url: str):
    db = await setup_db(database_url)
    settings = replace(Settings.from_env({}), business_hours=(time(0), time(23, 59)))
    ids = [await new_ticket(db, settings, f"u{i}", local(1, 10), hours=None) for i in range(20)]
    pending = ids[-1]
    await change(db, settings, pending, local(1, 10, 1), status="pending")  # paused: never breached
    later = local(1, 10, 45)  # past the 30 min first response of every ticket
    other = Database(database_url)  # a second process: its own connections
    watches = [SlaWatch(d, interval=1, clock=lambda: later) for d in (db, other, db, other)]
    found = await asyncio.gather(*(w.check() for w in watches))
    found += await asyncio.gather(*(w.check() for w in watches))
    breaches = [b for batch in found for b in batch]
    assert sorted(b.ticket_id for b in breaches) == sorted(ids[:-1])
    assert {b.kind for b in breaches} == {"first_response"}
    assert (await get_ticket(db, ids[0])).first_response_breached_at == later
    assert (await get_ticket(db, pending)).first_response_breached_at is None
    await other.dispose()
    await db.dispose()


async def test_breach_is_posted_to_the_webhook_with_retries(database_url: str):
    received: list[dict] = []
    attempts = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return web.Response(status=503)  # the receiver is restarting: try again
        received.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/sla", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]

    db = await setup_db(database_url)
    settings = Settings.from_env({})
    ticket_id = await new_ticket(db, settings, "u1", local(1, 10))
    webhook = WebhookPoster(f"http://127.0.0.1:{port}/hooks/sla", name="SLA", base_delay=0.01)
    now = local(1, 10)
    watch = SlaWatch(db, interval=0.02, webhook=webhook, clock=lambda: now)
    task = asyncio.create_task(watch.run())
    try:
        await asyncio.sleep(0.1)
        assert not received  # not due yet
        now = local(1, 11)
        for _ in range(200):
            if received:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # a second report would arrive by now
    finally:
        task.cancel()
        await runner.cleanup()
        await db.dispose()
    assert len(received) == 1 and attempts == 2
    body = received[0]
    assert body["event"] == "sla.breached" and body["kind"] == "first_response" and body["ticket_id"] == ticket_id
    assert body["account"] == "brand" and body["priority"] == "high"
    assert datetime.fromisoformat(body["due"]) == local(1, 10, 30).astimezone(timezone.utc)


async def test_unreachable_webhook_is_logged_not_fatal(caplog: pytest.LogCaptureFixture):
    webhook = WebhookPoster("http://127.0.0.1:9/never?token=SECRET", name="SLA", attempts=2, base_delay=0.01, timeout=1)
    breach = Breach("resolution", 1, "T1", 1, 1, "brand", "high", "open", local(1, 10), local(1, 11), None)
    async with aiohttp.ClientSession() as http:
        assert await webhook._deliver(http, breach) is False
    assert "failed for T1" in caplog.text and "SECRET" not in caplog.text
