"""Tickets as agents work them: list, search, detail, and checked changes with an audit trail.

Every change goes through `change`, whoever asks (the tickets page, the thread page, the API),
so validation, SLA clocks, the audit entry and the live event never differ between callers.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actions import csat
from bot.desk import events, sla_clock
from bot.desk.access import NotFound, Viewer
from bot.settings import Settings
from bot.store import accounts, agents, audit, inbox, threads, tickets
from bot.store.models import Account, AuditEntry, CsatRating, Customer, Message, Thread, Ticket
from bot.store.sla import PRIORITIES
from bot.untrusted import DB_ID_MAX, ascii_int

STATUSES = ("new", "open", "pending", "resolved", "closed")
FIELDS = ("status", "priority", "category", "assignee")
MAX_CATEGORY = 32


class TicketChangeRefused(ValueError):
    """The change is invalid; `reason` (Chinese, for the agent) says why. Nothing was changed."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket
    account: Account
    customer: Customer
    assignee: str | None

    def as_json(self) -> dict[str, Any]:
        t = self.ticket
        return {
            "id": t.id, "number": t.number, "status": t.status, "priority": t.priority, "category": t.category,
            "summary": t.summary, "thread_id": t.thread_id, "account": self.account.slug,
            "platform": self.account.platform, "account_id": self.account.id,
            "customer": {"id": self.customer.id, "external_id": self.customer.external_id,
                         "nickname": self.customer.nickname},
            "assignee_id": t.assignee_id, "assignee": self.assignee,
            "created_at": _iso(t.created_at), "updated_at": _iso(t.updated_at), "resolved_at": _iso(t.resolved_at),
            "sla": {"first_response_due": _iso(t.first_response_due), "first_response_at": _iso(t.first_response_at),
                    "first_response_breached_at": _iso(t.first_response_breached_at),
                    "resolution_due": _iso(t.resolution_due),
                    "resolution_breached_at": _iso(t.resolution_breached_at),
                    "paused": t.sla_paused_at is not None},
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _views(rows: Any) -> list[TicketView]:
    return [TicketView(ticket, account, customer, assignee) for ticket, account, customer, assignee in rows]


async def search(session: AsyncSession, viewer: Viewer, query: tickets.TicketQuery) -> list[TicketView]:
    return _views(await tickets.search(session, query, viewer.visible(Thread.account_id)))


async def view(session: AsyncSession, viewer: Viewer, ticket_id: int) -> TicketView:
    """The ticket if the viewer may see it; NotFound otherwise (existence is not revealed)."""
    found = _views(await tickets.search(session, tickets.TicketQuery(ids=(ticket_id,)),
                                             viewer.visible(Thread.account_id)))
    if not found:
        raise NotFound("工单不存在")
    return found[0]


async def history(session: AsyncSession, ticket_id: int) -> list[AuditEntry]:
    return await audit.entries(session, "ticket", ticket_id)


async def thread_messages(session: AsyncSession, thread_id: int, limit: int = 500) -> list[Message]:
    return await threads.history(session, thread_id, limit)


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    return {"status": ticket.status, "priority": ticket.priority, "category": ticket.category,
            "assignee_id": ticket.assignee_id}


async def _validate(session: AsyncSession, found: TicketView, changes: dict[str, Any]) -> dict[str, Any]:
    """The changes as column values, or TicketChangeRefused naming the first bad field."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise TicketChangeRefused(f"不能修改的字段：{', '.join(unknown)}（可改：{', '.join(FIELDS)}）", unknown[0])
    if not changes:
        raise TicketChangeRefused("没有要修改的字段")
    values: dict[str, Any] = {}
    if "status" in changes:
        if changes["status"] not in STATUSES:
            raise TicketChangeRefused(f"状态必须是 {', '.join(STATUSES)} 之一", "status")
        values["status"] = changes["status"]
    if "priority" in changes:
        if changes["priority"] not in PRIORITIES:
            raise TicketChangeRefused(f"优先级必须是 {', '.join(PRIORITIES)} 之一", "priority")
        values["priority"] = changes["priority"]
    if "category" in changes:
        category = changes["category"]
        if not isinstance(category, str) or not category.strip() or len(category.strip()) > MAX_CATEGORY:
            raise TicketChangeRefused(f"分类必须是 1-{MAX_CATEGORY} 个字符", "category")
        values["category"] = category.strip()
    if "assignee" in changes:
        values["assignee_id"] = await _assignee(session, found.account.id, changes["assignee"])
    return values


async def _assignee(session: AsyncSession, account_id: int, wanted: Any) -> int | None:
    """None (unassign), an agent id or a username; the agent must work for the ticket's account."""
    if wanted is None or wanted == "":
        return None
    if isinstance(wanted, bool) or not isinstance(wanted, (int, str)):
        raise TicketChangeRefused("处理人必须是客服的 id 或用户名，或 null", "assignee")
    members = await agents.members(session, account_id)
    match = [a for a in members if a.id == wanted or a.username == wanted]
    if not match:
        raise TicketChangeRefused("处理人不存在，或不负责这个公众号", "assignee")
    return match[0].id


async def change(session: AsyncSession, settings: Settings, viewer: Viewer, ticket_id: int,
                 changes: dict[str, Any], now: datetime) -> TicketView:
    """Apply a validated change (all or nothing), follow the SLA clocks, audit it, tell the pages."""
    found = await view(session, viewer, ticket_id)
    ticket = await tickets.locked(session, ticket_id)
    values = await _validate(session, found, changes)
    before = _snapshot(ticket)
    for name, value in values.items():
        setattr(ticket, name, value)
    after = _snapshot(ticket)
    if after == before:
        return found
    if before["status"] != ticket.status or before["priority"] != ticket.priority:
        await sla_clock.follow_change(session, settings, ticket, old_status=before["status"], now=now)
    if before["priority"] != ticket.priority:  # the waiting item moves in the queue with it
        await inbox.follow_ticket_priority(session, ticket.id, ticket.priority)
    ticket.updated_at = now
    changed = {k for k in after if after[k] != before[k]}
    await audit.record(session, viewer.username, "ticket.update", "ticket", ticket.id, now=now,
                       before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    await events.publish(session, "ticket", ticket_id=ticket.id, thread_id=ticket.thread_id,
                         account_id=found.account.id)
    await session.flush()
    return await view(session, viewer, ticket_id)


async def after_resolve(session: AsyncSession, settings: Settings, viewer: Viewer, thread: Thread, now: datetime,
                        *, ask_rating: bool | None = None) -> CsatRating | None:
    """What a thread's resolve means for its tickets and the customer, in the resolve's transaction:
    open tickets become resolved, and (by setting or by the resolve's choice) a rating is asked for."""
    open_ids = await tickets.open_ids_of_thread(session, thread.id)
    for ticket_id in open_ids:
        await change(session, settings, viewer, ticket_id, {"status": "resolved"}, now)
    if not (settings.csat_on_resolve if ask_rating is None else ask_rating):
        return None
    return await csat.request_rating(session, settings, thread, now, ticket_id=open_ids[-1] if open_ids else None,
                                     agent_id=viewer.id or None)


async def parse_query(session: AsyncSession, viewer: Viewer, params: Mapping[str, str]) -> tickets.TicketQuery:
    """Filters from query parameters (status, priority, account slug, assignee username | me | none,
    q, limit, offset); ValueError with the reason for a bad value."""
    status, priority = params.get("status") or None, params.get("priority") or None
    if status is not None and status not in STATUSES:
        raise ValueError(f"status 必须是 {'/'.join(STATUSES)} 之一")
    if priority is not None and priority not in PRIORITIES:
        raise ValueError(f"priority 必须是 {'/'.join(PRIORITIES)} 之一")
    account_id = None
    if params.get("account"):
        account = await accounts.by_slug(session, params["account"])
        if account is None or not viewer.sees(account.id):
            raise ValueError(f"没有公众号 {params['account']}")
        account_id = account.id
    assignee_id, unassigned = None, False
    wanted = params.get("assignee") or ""
    if wanted == "none":
        unassigned = True
    elif wanted == "me":
        assignee_id = viewer.id
    elif wanted:
        agent = await agents.by_username(session, wanted)
        if agent is None:
            raise ValueError(f"没有客服 {wanted}")
        assignee_id = agent.id
    limit, offset = ascii_int(params.get("limit") or "100", 500), ascii_int(params.get("offset") or "0", DB_ID_MAX)
    if limit is None or limit < 1 or offset is None:
        raise ValueError(f"limit 须是 1-500 之间的整数，offset 须是 0-{DB_ID_MAX} 之间的整数")
    return tickets.TicketQuery(status=status, priority=priority, account_id=account_id, assignee_id=assignee_id,
                                    unassigned=unassigned, q=(params.get("q") or "")[:100], limit=limit,
                                    offset=offset)
