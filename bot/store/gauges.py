"""The figures `GET /metrics` reads from the shared database when Prometheus scrapes.

Counted at scrape time (a handful of indexed counts every scrape interval), never per
request: they describe the whole deployment, so every server reports the same values.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import InboxItem, NluModel, OutboxItem, Ticket


async def _count(session: AsyncSession, table: type, *where: ColumnElement[bool]) -> int:
    return (await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


async def read(session: AsyncSession) -> dict[str, float]:
    """Outbox backlog and failures, the inbox's waiting threads, SLA breaches by kind, the active model."""
    active = (await session.execute(select(NluModel.id).where(NluModel.active.is_(True)).limit(1))).scalar()
    return {
        "outbox_backlog": await _count(session, OutboxItem, OutboxItem.state.in_(("queued", "sending"))),
        "outbox_failed": await _count(session, OutboxItem, OutboxItem.state == "failed"),
        "inbox_waiting": await _count(session, InboxItem, InboxItem.closed_at.is_(None), InboxItem.claimed_by.is_(None)),
        "sla_first_response": await _count(session, Ticket, Ticket.first_response_breached_at.is_not(None)),
        "sla_resolution": await _count(session, Ticket, Ticket.resolution_breached_at.is_not(None)),
        "active_model": active or 0,
    }
