"""REST API of tickets and presence (/api/v1), and the server's SLA and auto-assignment tasks."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import autoassign
from bot.desk.access import Viewer
from bot.desk import ticketing
from bot.desk.sla_watch import SlaWatch
from bot.desk.webhook import poster
from bot.store import agents
from bot.web.auth import api_viewer, now
from bot.web.context import EVENTS, RT, runtime_of
from bot.web.openapi import ApiError, api_route, int_param, json_body

TICKET_PATCH = {"type": "object", "minProperties": 1, "additionalProperties": False, "properties": {
    "status": {"enum": list(ticketing.STATUSES)},
    "priority": {"enum": ["low", "normal", "high", "urgent"]},
    "category": {"type": "string", "minLength": 1, "maxLength": ticketing.MAX_CATEGORY},
    "assignee": {"type": ["integer", "string", "null"], "description": "agent id or username; null: nobody"}}}
LIST_QUERY = {"status": "new | open | pending | resolved | closed", "priority": "low | normal | high | urgent",
              "account": "account slug", "assignee": "username, me or none", "q": "number, customer or any text",
              "limit": "1-500 (100)", "offset": "skip this many"}


async def searched(session: AsyncSession, request: web.Request, viewer: Viewer) -> list[ticketing.TicketView]:
    """The tickets the request's filters ask for (the page's and the API's); 400 for a bad filter."""
    try:
        query = await ticketing.parse_query(session, viewer, request.query)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return await ticketing.search(session, viewer, query)


async def list_tickets(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    async with runtime_of(request).db.sessions() as session:
        found = await searched(session, request, viewer)
    return web.json_response({"tickets": [t.as_json() for t in found]})


async def get_ticket(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    ticket_id = int_param(request.match_info["id"], "id")
    async with runtime_of(request).db.sessions() as session:
        found = await ticketing.view(session, viewer, ticket_id)
        history = await ticketing.history(session, ticket_id)
        messages = await ticketing.thread_messages(session, found.ticket.thread_id)
    return web.json_response({
        **found.as_json(),
        "history": [{"actor": e.actor, "action": e.action, "before": e.before, "after": e.after,
                     "at": e.created_at.isoformat()} for e in history],
        "messages": [{"id": m.id, "direction": m.direction, "author": m.author, "type": m.msg_type, "text": m.text,
                      "intent": m.intent, "confidence": m.confidence, "state": m.state,
                      "at": m.created_at.isoformat()} for m in messages]})


async def patch_ticket(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    ticket_id = int_param(request.match_info["id"], "id")
    body = await json_body(request)
    rt = runtime_of(request)
    try:
        async with rt.db.uow() as session:
            changed = await ticketing.change(session, rt.settings, viewer, ticket_id, body, now())
    except ticketing.TicketChangeRefused as exc:
        raise ApiError(422, exc.reason, field=exc.field) from None
    return web.json_response(changed.as_json())


async def set_my_status(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    status = (await json_body(request)).get("status")
    if status not in autoassign.STATUSES:
        raise ApiError(422, "status 必须是 online 或 offline", field="status")
    async with runtime_of(request).db.uow() as session:
        agent = await agents.by_username(session, viewer.username)
        assert agent is not None
        await autoassign.set_status(session, agent, status, now())
    return web.json_response({"username": viewer.username, "status": status})


async def background(app: web.Application) -> AsyncIterator[None]:
    """SLA breach checks and auto-assignment, in every `carebot serve` process."""
    rt = app[RT]
    watch = SlaWatch(rt.db, interval=rt.settings.sla_check_interval,
                     webhook=poster(rt.settings.sla_webhook_url, "SLA"))
    tasks = [asyncio.create_task(watch.run()), asyncio.create_task(autoassign.follow(rt.db, app[EVENTS]))]
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def setup_routes(app: web.Application) -> None:
    api_route(app, "GET", "/tickets", list_tickets, tag="tickets", query=LIST_QUERY,
              summary="Tickets of the caller's accounts, newest first, with filters and search",
              responses={200: "{tickets: [...]}", 400: "bad filter value"})
    api_route(app, "GET", "/tickets/{id}", get_ticket, tag="tickets",
              summary="A ticket with its SLA clocks, its history (audit log) and the thread's messages",
              responses={200: "the ticket"})
    api_route(app, "PATCH", "/tickets/{id}", patch_ticket, tag="tickets", body=TICKET_PATCH,
              summary="Change status, priority, category or assignee (all or nothing; audited)",
              responses={200: "the ticket after the change", 400: "not JSON",
                         422: "invalid value: {error, field}"})
    api_route(app, "POST", "/agents/me/status", set_my_status, tag="agents",
              body={"type": "object", "required": ["status"], "properties": {"status": {"enum": ["online", "offline"]}}},
              summary="Go online (auto-assignment may give you threads) or offline",
              responses={200: "{username, status}", 400: "not JSON", 422: "bad status"})
    app.cleanup_ctx.append(background)
