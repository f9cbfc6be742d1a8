"""SLA clocks as tickets move: pause and resume around `pending`, stop when done, run again
when reopened.

The due-time arithmetic is in `bot.store.sla.schedule` (creation + target + business time
spent paused); here a status or priority change decides what it means for the clock. The
first response (`bot.store.tickets.first_response_met`) and breaches (`bot.store.sla.mark_breaches`)
are marked by single statements in the store.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.store import sla
from bot.store.models import Thread, Ticket
from bot.store.tickets import OPEN_STATUSES

DONE_STATUSES = ("resolved", "closed")


async def _account_of(session: AsyncSession, ticket: Ticket) -> int:
    thread = await session.get(Thread, ticket.thread_id)
    assert thread is not None
    return thread.account_id


async def follow_change(session: AsyncSession, settings: Settings, ticket: Ticket, *, old_status: str,
                        now: datetime) -> None:
    """After status or priority changed: pause, resume, stop or recompute the clocks."""
    cal = await sla.calendar_for(session, settings, await _account_of(session, ticket))
    if ticket.status == "pending" and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    elif ticket.status != "pending" and ticket.sla_paused_at is not None:
        ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + int(
            cal.between(ticket.sla_paused_at, now).total_seconds())
        ticket.sla_paused_at = None
    if ticket.status in DONE_STATUSES and ticket.resolved_at is None:
        ticket.resolved_at = now
    elif ticket.status in OPEN_STATUSES and old_status in DONE_STATUSES:
        ticket.resolved_at = None  # reopened: the resolution clock runs again
    sla.schedule(ticket, cal, (await sla.targets(session, settings))[ticket.priority])
