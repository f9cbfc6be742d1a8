"""The shared inbox as agents see it: what waits, in which order, and claiming an item.

A claim is one conditional UPDATE (`... WHERE claimed_by IS NULL`): when two agents claim the
same item at the same moment the database lets exactly one win; the other learns who has it
and nothing changes. Like every desk service it works in the caller's session (the web
handler opens it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import events
from bot.desk.access import NotFound, Refusal, Viewer
from bot.desk.ticketing import STATUSES
from bot.store import audit, inbox, ownership
from bot.store.inbox import PRIORITY_RANK
from bot.store.models import Thread

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


def _row(values: Any) -> InboxRow:
    (item, slug, name, platform, nickname, external_id, last_text, agent_display, agent_username,
     number, status, first_response_at, first_due, resolution_due) = values
    return InboxRow(item.id, item.thread_id, item.reason, item.priority, item.enqueued_at, slug, name,
                    platform, nickname or external_id, last_text or "",
                    agent_display or agent_username, number, status,
                    first_due if first_response_at is None else resolution_due)  # the next target due


async def list_items(session: AsyncSession, viewer: Viewer, flt: InboxFilter) -> list[InboxRow]:
    """Open items: higher priority first, then the longest waiting."""
    found = await inbox.open_rows(session, viewer.visible(Thread.account_id), unclaimed=flt.view == "unassigned",
                                  claimed_by=viewer.id if flt.view == "mine" else None,
                                  account_slug=flt.account, priority=flt.priority, ticket_status=flt.status,
                                  limit=LIMIT)
    return [_row(values) for values in found]


async def open_item_row(session: AsyncSession, viewer: Viewer, thread_id: int) -> InboxRow | None:
    found = await inbox.open_row_of_thread(session, viewer.visible(Thread.account_id), thread_id)
    return _row(found) if found else None


async def claim(session: AsyncSession, viewer: Viewer, item_id: int, now: datetime) -> int:
    """Take the item for `viewer` in the caller's unit of work; its thread id, or
    ClaimConflict / NotFound."""
    won = await inbox.claim(session, item_id, viewer.id, now, viewer.visible(Thread.account_id))
    if won is None:
        raise await _why_not(session, viewer, item_id)
    await ownership.claimed(session, won, viewer.id, now)
    await audit.record(session, viewer.username, "inbox.claim", "inbox", item_id, now=now,
                       before={"claimed_by": None}, after={"claimed_by": viewer.username, "thread_id": won})
    await events.rows_changed(session, "inbox", thread_id=won)
    return won


async def _why_not(session: AsyncSession, viewer: Viewer, item_id: int) -> Exception:
    found = await inbox.with_holder(session, item_id)
    if found is None or not viewer.sees(found[1]):
        return NotFound("该条目不存在")
    item, _, display, username = found
    if item.closed_at is not None:
        return ClaimConflict("该会话已处理完毕")
    holder = display or username or "其他客服"
    return ClaimConflict(f"已被 {holder} 接手", holder)
