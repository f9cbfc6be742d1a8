"""SLA as stored: targets per priority, account hours and holidays, due times and breach marks.

Defaults live in code so a new deployment works without setup; a row in `sla_policies`
overrides one priority. The `high` first-response default is CAREBOT_FIRST_RESPONSE_MINUTES,
the figure complaints (high by default) have always promised.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.business_time import Calendar, calendar, parse_hours
from bot.settings import Settings
from bot.store.inbox import PRIORITY_RANK
from bot.store.models import Account, AccountHoliday, Agent, SlaPolicy, Thread, Ticket
from bot.store.tickets import OPEN_STATUSES

PRIORITIES = tuple(PRIORITY_RANK)  # low, normal, high, urgent


@dataclass(frozen=True)
class Targets:
    priority: str
    first_response_minutes: int
    resolution_minutes: int


def default_targets(settings: Settings) -> dict[str, Targets]:
    return {
        "urgent": Targets("urgent", 15, 4 * 60),
        "high": Targets("high", settings.first_response_minutes, 8 * 60),
        "normal": Targets("normal", 60, 24 * 60),
        "low": Targets("low", 4 * 60, 72 * 60),
    }


async def targets(session: AsyncSession, settings: Settings) -> dict[str, Targets]:
    """Every priority's targets: the admin's where set, else the defaults."""
    result = default_targets(settings)
    for row in (await session.execute(select(SlaPolicy))).scalars():
        result[row.priority] = Targets(row.priority, row.first_response_minutes, row.resolution_minutes)
    return result


async def set_targets(session: AsyncSession, settings: Settings, priority: str, *,
                      first_response_minutes: int | None, resolution_minutes: int | None,
                      now: datetime) -> Targets:
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
    current = (await targets(session, settings))[priority]
    first = current.first_response_minutes if first_response_minutes is None else first_response_minutes
    resolution = current.resolution_minutes if resolution_minutes is None else resolution_minutes
    if first <= 0 or resolution <= 0:
        raise ValueError("targets must be positive")
    if resolution < first:
        raise ValueError("the resolution target cannot be shorter than the first-response target")
    row = await session.get(SlaPolicy, priority)
    if row is None:
        session.add(SlaPolicy(priority=priority, first_response_minutes=first, resolution_minutes=resolution,
                              updated_at=now))
    else:
        row.first_response_minutes, row.resolution_minutes, row.updated_at = first, resolution, now
    await session.flush()
    return Targets(priority, first, resolution)


async def holidays(session: AsyncSession, account_id: int) -> frozenset[date]:
    rows = await session.execute(select(AccountHoliday.day).where(AccountHoliday.account_id == account_id))
    return frozenset(date.fromisoformat(day) for day in rows.scalars())


async def add_holidays(session: AsyncSession, account: Account, days: list[date]) -> None:
    known = await holidays(session, account.id)
    session.add_all(AccountHoliday(account_id=account.id, day=day.isoformat()) for day in set(days) - known)
    await session.flush()


async def remove_holidays(session: AsyncSession, account: Account, days: list[date]) -> None:
    await session.execute(delete(AccountHoliday).where(
        AccountHoliday.account_id == account.id, AccountHoliday.day.in_([d.isoformat() for d in days])))


def set_hours(account: Account, text: str | None) -> None:
    """Own business hours for the account ("09:00-18:00 1-5"), or None for the deployment's."""
    if text is not None:
        parse_hours(text)  # raises CalendarError with the reason
    account.business_hours = text


async def calendar_for(session: AsyncSession, settings: Settings, account_id: int) -> Calendar:
    account = await session.get(Account, account_id)
    assert account is not None
    return calendar(settings, account.business_hours, await holidays(session, account_id))


def schedule(ticket: Ticket, cal: Calendar, wanted: Targets) -> None:
    """Due = creation + target + business time paused so far; none while paused."""
    if ticket.sla_paused_at is not None:
        ticket.first_response_due = ticket.resolution_due = None
        return
    paused = timedelta(seconds=ticket.sla_paused_seconds or 0)
    ticket.first_response_due = cal.add(ticket.created_at, timedelta(minutes=wanted.first_response_minutes) + paused)
    ticket.resolution_due = cal.add(ticket.created_at, timedelta(minutes=wanted.resolution_minutes) + paused)


async def start(session: AsyncSession, settings: Settings, ticket: Ticket, account_id: int) -> Targets:
    """Give a new ticket its due times; returns the targets (the bot promises the first one)."""
    wanted = (await targets(session, settings))[ticket.priority]
    schedule(ticket, await calendar_for(session, settings, account_id), wanted)
    return wanted


@dataclass(frozen=True)
class Breach:
    kind: str  # first_response | resolution
    ticket_id: int
    number: str
    thread_id: int
    account_id: int
    account: str
    priority: str
    status: str
    due: datetime
    breached_at: datetime
    assignee: str | None

    @property
    def label(self) -> str:
        """How the webhook's log names it."""
        return f"{self.number} ({self.kind})"

    def as_json(self) -> dict[str, object]:
        return {"event": "sla.breached", "kind": self.kind, "ticket_id": self.ticket_id, "ticket": self.number,
                "thread_id": self.thread_id, "account": self.account, "priority": self.priority,
                "status": self.status, "due": self.due.isoformat(), "breached_at": self.breached_at.isoformat(),
                "assignee": self.assignee}


_KINDS = {
    "first_response": (Ticket.first_response_due, Ticket.first_response_breached_at,
                       (Ticket.first_response_at.is_(None),)),
    "resolution": (Ticket.resolution_due, Ticket.resolution_breached_at, (Ticket.resolved_at.is_(None),)),
}


async def mark_breaches(session: AsyncSession, now: datetime) -> list[Breach]:
    """Mark every newly overdue target as breached, each exactly once across processes.

    One conditional UPDATE per kind: a concurrent checker waits for the row lock, re-reads the
    row, finds breached_at set and skips it, so each breach is returned by one caller only.
    """
    breaches: list[Breach] = []
    for kind, (due, breached_at, not_met) in _KINDS.items():
        marked = await session.execute(
            update(Ticket).where(breached_at.is_(None), due <= now, Ticket.status.in_(OPEN_STATUSES), *not_met)
            .values({breached_at: now}).returning(Ticket.id).execution_options(synchronize_session=False))
        ids = list(marked.scalars())
        if not ids:
            continue
        rows = await session.execute(
            select(Ticket.id, Ticket.number, Ticket.thread_id, Account.id, Account.slug, Ticket.priority,
                   Ticket.status, due, Agent.username)
            .join(Thread, Thread.id == Ticket.thread_id).join(Account, Account.id == Thread.account_id)
            .outerjoin(Agent, Agent.id == Ticket.assignee_id).where(Ticket.id.in_(ids)).order_by(Ticket.id))
        breaches += [Breach(kind, *row[:8], breached_at=now, assignee=row[8]) for row in rows]
    return breaches
