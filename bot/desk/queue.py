"""The shared inbox as agents see it: what waits, in which order, and claiming an item.

A claim is one conditional UPDATE (`... WHERE claimed_by IS NULL`): when two agents claim the
same item at the same moment the database lets exactly one win; the other learns who has it
and nothing changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import audit, events
from bot.desk.access import NotFound, Refusal, Viewer
from bot.desk.ticketing import STATUSES
from bot.store import ownership
from bot.store.db import Database
from bot.store.inbox import PRIORITY_RANK
from bot.store.models import Account, Agent, Customer, InboxItem, Message, Thread, Ticket

VIEWS = ("unassigned", "mine", "all")
PRIORITIES = tuple(reversed(PRIORITY_RANK))  # urgent first, as the filter lists them
REASONS = {"complaint": "投诉", "requested_human": "要求人工", "bot_failed": "机器人未解决", "urgent": "紧急"}
PRIORITY_LABELS = {"urgent": "紧急", "high": "高", "normal": "普通", "low": "低"}
LIMIT = 200


class ClaimConflict(Refusal):
    """Somebody else holds the item (`holder`), or it is closed."""

    def __init__(self, reason: str, holder: str | None = None) -> None:
        super().__init__(reason)
        self.holder = holder


@dataclass(frozen=True)
class InboxFilter:
    view: str = "unassigned"
    account: str | None = None  # slug
    priority: str | None = None
    status: str | None = None  # ticket status

    @classmethod
    def parse(cls, query: Any) -> "InboxFilter":
        """From query parameters; ValueError with the reason for a bad value."""
        view = query.get("view") or "unassigned"
        priority = query.get("priority") or None
        status = query.get("status") or None
        if view not in VIEWS:
            raise ValueError(f"view 必须是 {'/'.join(VIEWS)} 之一")
        if priority is not None and priority not in PRIORITIES:
            raise ValueError(f"priority 必须是 {'/'.join(PRIORITIES)} 之一")
        if status is not None and status not in STATUSES:
            raise ValueError(f"status 必须是 {'/'.join(STATUSES)} 之一")
        return cls(view, query.get("account") or None, priority, status)


@dataclass(frozen=True)
class InboxRow:
    id: int
    thread_id: int
    reason: str
    priority: str
    enqueued_at: datetime
    account: str
    account_name: str
    platform: str
    customer: str
    last_message: str
    claimed_by: str | None
    ticket: str | None
    ticket_status: str | None
    sla_due: datetime | None

    def waiting_seconds(self, now: datetime) -> int:
        return max(0, int((now - self.enqueued_at).total_seconds()))

    def sla_breached(self, now: datetime) -> bool:
        return self.sla_due is not None and self.sla_due <= now

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {"id": self.id, "thread_id": self.thread_id, "reason": self.reason, "priority": self.priority,
                "enqueued_at": self.enqueued_at.isoformat(), "waiting_seconds": self.waiting_seconds(now),
                "account": self.account, "platform": self.platform, "customer": self.customer,
                "last_message": self.last_message, "claimed_by": self.claimed_by, "ticket": self.ticket,
                "ticket_status": self.ticket_status,
                "sla_due": self.sla_due.isoformat() if self.sla_due else None,
                "sla_breached": self.sla_breached(now)}


def _rows_query(viewer: Viewer) -> Select:
    last_text = (select(Message.text).where(Message.thread_id == Thread.id, Message.direction == "in")
                 .order_by(Message.id.desc()).limit(1).scalar_subquery())
    return (select(InboxItem, Account.slug, Account.name, Account.platform, Customer.nickname,
                   Customer.external_id, last_text, Agent.display_name, Agent.username, Ticket.number,
                   Ticket.status, Ticket.first_response_at, Ticket.first_response_due, Ticket.resolution_due)
            .join(Thread, Thread.id == InboxItem.thread_id)
            .join(Account, Account.id == Thread.account_id)
            .join(Customer, Customer.id == Thread.customer_id)
            .outerjoin(Agent, Agent.id == InboxItem.claimed_by)
            .outerjoin(Ticket, Ticket.id == InboxItem.ticket_id)
            .where(InboxItem.closed_at.is_(None), viewer.visible(Thread.account_id)))


def _row(values: Any) -> InboxRow:
    (item, slug, name, platform, nickname, external_id, last_text, agent_display, agent_username,
     number, status, first_response_at, first_due, resolution_due) = values
    return InboxRow(item.id, item.thread_id, item.reason, item.priority, item.enqueued_at, slug, name,
                    platform, nickname or external_id, last_text or "",
                    agent_display or agent_username, number, status,
                    first_due if first_response_at is None else resolution_due)  # the next target due


async def list_items(db: Database, viewer: Viewer, flt: InboxFilter) -> list[InboxRow]:
    """Open items: higher priority first, then the longest waiting."""
    query = _rows_query(viewer)
    if flt.view == "unassigned":
        query = query.where(InboxItem.claimed_by.is_(None))
    elif flt.view == "mine":
        query = query.where(InboxItem.claimed_by == viewer.id)
    if flt.account:
        query = query.where(Account.slug == flt.account)
    if flt.priority:
        query = query.where(InboxItem.priority == flt.priority)
    if flt.status:
        query = query.where(Ticket.status == flt.status)
    query = query.order_by(InboxItem.priority_rank.desc(), InboxItem.enqueued_at, InboxItem.id).limit(LIMIT)
    async with db.sessions() as session:
        return [_row(values) for values in (await session.execute(query)).all()]


async def open_item_row(session: AsyncSession, viewer: Viewer, thread_id: int) -> InboxRow | None:
    found = (await session.execute(_rows_query(viewer).where(InboxItem.thread_id == thread_id))).first()
    return _row(found) if found else None


async def claim(db: Database, viewer: Viewer, item_id: int, now: datetime) -> int:
    """Take the item for `viewer`; its thread id, or ClaimConflict / NotFound."""
    async with db.uow() as session:
        won = (await session.execute(
            update(InboxItem)
            .where(InboxItem.id == item_id, InboxItem.claimed_by.is_(None), InboxItem.closed_at.is_(None),
                   InboxItem.thread_id.in_(select(Thread.id).where(viewer.visible(Thread.account_id))))
            .values(claimed_by=viewer.id, claimed_at=now)
            .returning(InboxItem.thread_id))).scalar_one_or_none()
        if won is None:
            raise await _why_not(session, viewer, item_id)
        await ownership.claimed(session, won, viewer.id, now)
        await audit.record(session, viewer.username, "inbox.claim", "inbox", item_id, now=now,
                           before={"claimed_by": None}, after={"claimed_by": viewer.username, "thread_id": won})
        await events.rows_changed(session, "inbox", thread_id=won)
        return won


async def _why_not(session: AsyncSession, viewer: Viewer, item_id: int) -> Exception:
    found = (await session.execute(
        select(InboxItem, Thread.account_id, Agent.display_name, Agent.username)
        .join(Thread, Thread.id == InboxItem.thread_id)
        .outerjoin(Agent, Agent.id == InboxItem.claimed_by).where(InboxItem.id == item_id))).first()
    if found is None or not viewer.sees(found[1]):
        return NotFound("该条目不存在")
    item, _, display, username = found
    if item.closed_at is not None:
        return ClaimConflict("该会话已处理完毕")
    holder = display or username or "其他客服"
    return ClaimConflict(f"已被 {holder} 接手", holder)
