"""The audit log: who did what to which record, when, with the values before and after.

Every agent and admin action writes one entry in the same transaction as the change, so
the log and the data can never disagree.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import AuditEntry, utcnow


async def record(session: AsyncSession, actor: str, action: str, entity: str, entity_id: int | str | None,
                 *, before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
                 now: datetime | None = None) -> AuditEntry:
    """Add an entry; `actor` is the agent's username (or "cli:<user>" for admin commands)."""
    entry = AuditEntry(actor=actor, action=action, entity=entity,
                       entity_id=None if entity_id is None else str(entity_id),
                       before=_jsonable(before), after=_jsonable(after), created_at=now or utcnow())
    session.add(entry)
    await session.flush()
    return entry


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in values.items()}


async def entries(session: AsyncSession, entity: str, entity_id: int | str) -> list[AuditEntry]:
    """One record's history, oldest first."""
    rows = await session.execute(select(AuditEntry).where(AuditEntry.entity == entity,
                                                          AuditEntry.entity_id == str(entity_id))
                                 .order_by(AuditEntry.id))
    return list(rows.scalars())


async def search(session: AsyncSession, *, actor: str | None = None, action: str | None = None,
                 entity: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[list[AuditEntry], bool]:
    """Entries matching every filter given, newest first, one page; and whether more follow
    (one row more is read instead of counting the whole log)."""
    query = select(AuditEntry)
    for column, value in ((AuditEntry.actor, actor), (AuditEntry.action, action), (AuditEntry.entity, entity)):
        if value:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    if until is not None:
        query = query.where(AuditEntry.created_at < until)
    rows = list((await session.execute(query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit + 1))).scalars())
    return rows[:limit], len(rows) > limit


async def facets(session: AsyncSession) -> dict[str, list[str]]:
    """The actors, actions and object types that occur: the choices of the audit page's filters."""
    result = {}
    for name, column in (("actors", AuditEntry.actor), ("actions", AuditEntry.action),
                         ("entities", AuditEntry.entity)):
        result[name] = list((await session.execute(select(column).distinct().order_by(column))).scalars())
    return result
