"""The tickets pages: list with filters and search (live), detail with history and a change form."""
from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.desk import ticketing
from bot.desk.access import NotFound, Viewer
from bot.store import accounts, agents, tickets
from bot.store.models import Account
from bot.store.sla import PRIORITIES
from bot.untrusted import DB_ID_MAX, ascii_int
from bot.web.auth import now, page_viewer
from bot.web.context import runtime_of
from bot.web.inbox_pages import labels
from bot.web.ticket_api import searched

AUDIT_LABELS = {"ticket.update": "修改工单", "inbox.claim": "接手", "thread.resolve": "解决"}
FIELD_LABELS = {"status": "状态", "priority": "优先级", "category": "分类", "assignee_id": "处理人"}


async def _list_context(request: web.Request, viewer: Viewer) -> dict[str, Any]:
    async with runtime_of(request).db.sessions() as session:
        found = await searched(session, request, viewer)
        visible = await accounts.visible(session, viewer.visible(Account.id))
    return {**labels(), "nav": "tickets", "tickets": found, "now": now(), "accounts": visible,
            "params": request.query, "priorities": PRIORITIES, "statuses": ticketing.STATUSES}


async def tickets_page(request: web.Request) -> web.StreamResponse:
    context = await _list_context(request, page_viewer(request))
    return aiohttp_jinja2.render_template("tickets.html", request, context)


async def ticket_rows(request: web.Request) -> web.StreamResponse:
    """The table body alone, fetched again on every ticket or SLA event."""
    context = await _list_context(request, page_viewer(request))
    return aiohttp_jinja2.render_template("ticket_rows.html", request, context)


async def _ticket_id(request: web.Request, viewer: Viewer) -> int:
    """/tickets/17 or /tickets/T20261201-0003 (the thread page links by number)."""
    ref = request.match_info["ref"]
    number = ascii_int(ref, DB_ID_MAX)
    if number is not None:
        return number
    async with runtime_of(request).db.sessions() as session:
        found = await tickets.id_by_number(session, ref)
    if found is None:
        raise NotFound("工单不存在")
    return found


async def _render_detail(request: web.Request, viewer: Viewer, ticket_id: int, *, error: str = "",
                         status: int = 200) -> web.Response:
    async with runtime_of(request).db.sessions() as session:
        found = await ticketing.view(session, viewer, ticket_id)
        context = {**labels(), "nav": "tickets", "t": found, "now": now(), "error": error,
                   "history": await ticketing.history(session, ticket_id),
                   "messages": await ticketing.thread_messages(session, found.ticket.thread_id),
                   "agents": await agents.members(session, found.account.id),
                   "priorities": PRIORITIES, "statuses": ticketing.STATUSES,
                   "audit_labels": AUDIT_LABELS, "field_labels": FIELD_LABELS}
    return aiohttp_jinja2.render_template("ticket.html", request, context, status=status)


async def ticket_page(request: web.Request) -> web.StreamResponse:
    viewer = page_viewer(request)
    return await _render_detail(request, viewer, await _ticket_id(request, viewer))


async def ticket_submit(request: web.Request) -> web.StreamResponse:
    """The change form (works without JavaScript): only the fields that differ are sent on."""
    viewer = page_viewer(request)
    ticket_id = await _ticket_id(request, viewer)
    form = await request.post()
    rt = runtime_of(request)
    try:
        async with rt.db.uow() as session:
            current = (await ticketing.view(session, viewer, ticket_id)).ticket
            changes: dict[str, Any] = {}
            for name in ("status", "priority", "category"):
                value = form.get(name)
                if isinstance(value, str) and value != getattr(current, name):
                    changes[name] = value
            assignee = form.get("assignee")
            if isinstance(assignee, str) and ascii_int(assignee, DB_ID_MAX) != current.assignee_id:
                changes["assignee"] = ascii_int(assignee, DB_ID_MAX)
            if changes:
                await ticketing.change(session, rt.settings, viewer, ticket_id, changes, now())
    except ticketing.TicketChangeRefused as exc:
        return await _render_detail(request, viewer, ticket_id, error=exc.reason, status=422)
    raise web.HTTPSeeOther(f"/tickets/{ticket_id}")


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/tickets", tickets_page)
    app.router.add_get("/tickets/rows", ticket_rows)
    app.router.add_get("/tickets/{ref}", ticket_page)
    app.router.add_post("/tickets/{ref}", ticket_submit)
