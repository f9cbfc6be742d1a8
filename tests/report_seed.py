"""A month of care work written straight into the database, with every figure of the reports
known in advance (the expectations live beside the rows that make them: see EXPECTED).

Local times are Asia/Shanghai; business hours 09:00-18:00 Monday to Friday. November 2026:
the 2nd is a Monday.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.desk import auth
from bot.runtime import Runtime, database
from bot.store import accounts
from bot.store.db import Database
from bot.store.models import AuditEntry, CsatRating, Customer, InboxItem, Message, Thread, Ticket
from bot.web.app import create_app
from bot.web.hardening import app_runner
from tests.agent_stack import PASSWORD
from tests.conftest import make_settings

ZONE = ZoneInfo("Asia/Shanghai")
SETTINGS = {"CAREBOT_BUSINESS_HOURS": "09:00-18:00", "CAREBOT_BUSINESS_DAYS": "1,2,3,4,5",
            "CAREBOT_TIMEZONE": "Asia/Shanghai"}


def at(day: int, clock: str, month: int = 11) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return datetime(2026, month, day, hours, minutes, tzinfo=ZONE)


@dataclass
class _Seeder:
    session: object
    counter: int = 0

    async def thread(self, account_id: int, name: str) -> Thread:
        customer = Customer(account_id=account_id, platform="wechat", external_id=f"o{name}", nickname=name)
        self.session.add(customer)
        await self.session.flush()
        thread = Thread(account_id=account_id, customer_id=customer.id)
        self.session.add(thread)
        await self.session.flush()
        return thread

    async def said(self, thread: Thread, when: datetime, text: str, intent: str | None, action: str | None,
                   msg_type: str = "text") -> Message:
        self.counter += 1
        message = Message(thread_id=thread.id, direction="in", author="customer", text=text, intent=intent,
                          action=action, msg_type=msg_type, state="handled", created_at=when,
                          dedupe_key=f"seed-{self.counter}")
        self.session.add(message)
        await self.session.flush()
        return message

    def agent_reply(self, thread: Thread, when: datetime, state: str = "sent") -> None:
        self.session.add(Message(thread_id=thread.id, direction="out", author="agent", text="您好，我来处理",
                                 state=state, created_at=when))

    async def handoff(self, thread: Thread, when: datetime, reason: str, closed: datetime | None = None,
                      ticket: Ticket | None = None) -> None:
        self.session.add(InboxItem(thread_id=thread.id, reason=reason, enqueued_at=when, closed_at=closed,
                                   ticket_id=ticket.id if ticket else None))
        await self.session.flush()

    async def ticket(self, thread: Thread, when: datetime, priority: str, **marks: datetime) -> Ticket:
        self.counter += 1
        ticket = Ticket(number=f"T-seed-{self.counter}", thread_id=thread.id, customer_id=thread.customer_id,
                        priority=priority, created_at=when, **marks)
        self.session.add(ticket)
        await self.session.flush()
        return ticket


async def seed_month(db: Database) -> None:
    async with db.uow() as session:
        brand = await accounts.add(session, platform="wechat", slug="brand", name="品牌官方", app_id="wx_seed_1",
                                   sealed={})
        other = await accounts.add(session, platform="wechat", slug="other", name="华南分号", app_id="wx_seed_2",
                                   sealed={})
        s = _Seeder(session)
        a, b, c, d, f, g = [await s.thread(brand.id, name) for name in "ABCDFG"]
        e = await s.thread(other.id, "E")
        # outside the period on both sides (local days 10-31 and 12-01)
        await s.said(a, at(31, "23:59", month=10), "十月的消息", "faq/refund", "answer_faq")
        await s.said(a, at(1, "00:00", month=12), "十二月的消息", "faq/refund", "answer_faq")
        # Mon 11-02: A asks twice (FAQ, thanks), C praises at 00:30 local (16:30 UTC the day before),
        # B complains (ticket high, answered after 30 min, closed after 3 h) and writes again while queued
        await s.said(a, at(2, "10:00"), "退款多久到账", "faq/refund", "answer_faq")
        await s.said(a, at(2, "10:01"), "谢谢", "thanks", "smalltalk")
        await s.said(c, at(2, "00:30"), "你们真棒", "praise", "thank_praise")
        await s.said(b, at(2, "11:00"), "质量太差了我要投诉", "complain", "open_ticket")
        ticket_b = await s.ticket(b, at(2, "11:00"), "high", first_response_at=at(2, "11:30"),
                                  resolved_at=at(2, "14:00"))
        await s.handoff(b, at(2, "11:00"), "complaint", closed=at(2, "14:00"), ticket=ticket_b)
        s.agent_reply(b, at(2, "11:20"), state="note")  # a note is no response
        s.agent_reply(b, at(2, "11:30"))
        await s.said(b, at(2, "12:00"), "还没人理我", None, "append")
        session.add(CsatRating(thread_id=b.id, ticket_id=ticket_b.id, rating=5, requested_at=at(2, "14:00"),
                               rated_at=at(2, "14:05")))
        # Tue 11-03: D is not understood twice, handed over at 20:01 (after hours), answered Wed 09:30,
        # closed 10:00; E (other account) is declined then asks for a person; A asks again
        await s.said(d, at(3, "20:00"), "asdkjh", "nlu_fallback", "clarify")
        await s.said(d, at(3, "20:01"), "asdkjh", "nlu_fallback", "handoff")
        await s.handoff(d, at(3, "20:01"), "bot_failed", closed=at(4, "10:00"))
        s.agent_reply(d, at(4, "09:30"))
        session.add(CsatRating(thread_id=d.id, rating=2, requested_at=at(4, "10:00"), rated_at=at(4, "10:05")))
        session.add(CsatRating(thread_id=d.id, rating=None, requested_at=at(4, "10:00")))
        await s.said(e, at(3, "09:59"), "今天天气怎么样", "out_of_scope", "decline")
        await s.said(e, at(3, "10:00"), "转人工", "request_human", "handoff")
        await s.handoff(e, at(3, "10:00"), "requested_human")
        await s.said(a, at(3, "10:00"), "退款多久到账呢", "faq/refund", "answer_faq")
        # Thu 11-05: G follows (an event, not a message)
        await s.said(g, at(5, "10:00"), "", None, None, msg_type="event")
        # Fri 11-06 17:00: F's urgent complaint, first response Mon 11-09 09:10 (70 business minutes),
        # first-response target breached 17:15, resolution breached Mon 12:00, still open
        await s.said(f, at(6, "17:00"), "我要去12315投诉你们", "complain", "open_ticket")
        ticket_f = await s.ticket(f, at(6, "17:00"), "urgent", first_response_at=at(9, "09:10"),
                                  first_response_breached_at=at(6, "17:15"),
                                  resolution_breached_at=at(9, "12:00"))
        await s.handoff(f, at(6, "17:00"), "complaint", ticket=ticket_f)
        s.agent_reply(f, at(9, "09:10"))
        # the audit log the audit page shows
        for n, (actor, action, entity) in enumerate([("root", "agent.add", "agent"), ("alice", "inbox.claim", "inbox"),
                                                     ("alice", "thread.resolve", "thread"),
                                                     ("cli", "sla.set", "sla_policy")]):
            session.add(AuditEntry(actor=actor, action=action, entity=entity, entity_id=str(n + 1),
                                   after={"n": n}, created_at=at(2 + n, "10:00")))


# the whole of November, all accounts
EXPECTED_ALL = {
    "messages_in": 11, "conversations": 6, "contained": 2, "contained_rate": 0.3333, "faq_answered": 2,
    "complaints": 2, "complaints_by_priority": {"low": 0, "normal": 0, "high": 1, "urgent": 1}, "praise": 1,
    "handoffs": {"bot_failed": 1, "complaint": 2, "requested_human": 1}, "misses": 3,
    "first_response_p50_s": 1800, "first_response_p90_s": 4200, "first_response_count": 3,
    "resolution_p50_s": 3600, "resolution_p90_s": 10800, "resolution_count": 2,
    "sla_breaches": 2, "csat_avg": 3.5, "csat_count": 2, "csat_distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
}
EXPECTED_DAYS = {
    "2026-11-02": {"messages_in": 5, "conversations": 3, "contained_rate": 0.6667, "faq_answered": 1, "praise": 1,
                   "complaints": 1, "first_response_p50_s": 1800, "resolution_p50_s": 10800, "csat_avg": 5.0},
    "2026-11-03": {"messages_in": 5, "conversations": 3, "contained_rate": 0.3333, "misses": 3,
                   "handoffs": {"bot_failed": 1, "complaint": 0, "requested_human": 1},
                   "first_response_p50_s": 1800, "resolution_p50_s": 3600, "csat_avg": None},
    "2026-11-04": {"messages_in": 0, "conversations": 0, "contained_rate": None, "csat_avg": 2.0, "csat_count": 1},
    "2026-11-05": {"messages_in": 0, "conversations": 0},
    "2026-11-06": {"messages_in": 1, "conversations": 1, "contained_rate": 0.0, "sla_breaches": 1,
                   "complaints_by_priority": {"low": 0, "normal": 0, "high": 0, "urgent": 1},
                   "first_response_p50_s": 4200, "resolution_p50_s": None},
    "2026-11-09": {"messages_in": 0, "sla_breaches": 1},
}
# the brand account alone: E (other) is left out
EXPECTED_BRAND = {"messages_in": 9, "conversations": 5, "contained": 2, "contained_rate": 0.4, "misses": 2,
                  "handoffs": {"bot_failed": 1, "complaint": 2, "requested_human": 0},
                  "first_response_p50_s": 1800, "first_response_p90_s": 4200}


@asynccontextmanager
async def report_stack(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, Runtime]]:
    """The real app over the seeded month, with an admin (root) and an agent (alice). Reports need
    no model: the NLU pool is never started, so no worker is spawned."""
    settings = make_settings(tmp_path, database_url, **SETTINGS)
    async with database(settings) as db:
        await seed_month(db)
        for name, role in (("root", "admin"), ("alice", "agent")):
            await auth.add_agent(db, username=name, role=role, password=PASSWORD, display_name=name.title(),
                                 now=datetime.now(timezone.utc), account_slugs=() if role == "admin" else ("brand",))
        rt = Runtime.assemble(settings, db)
        runner = app_runner(create_app(rt), settings, shutdown_timeout=2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", rt
        finally:
            await runner.cleanup()
