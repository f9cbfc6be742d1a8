"""The inbox and thread pages (server-rendered; live parts are re-fetched as fragments)."""
from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from bot.channels import registry
from bot.desk import queue, thread_view
from bot.desk.access import NotFound, Viewer
from bot.store import accounts
from bot.store.models import Account
from bot.web.auth import now, page_viewer
from bot.web.context import runtime_of
from bot.web.openapi import ApiError, int_param

TICKET_STATUS_LABELS = {"new": "新建", "open": "处理中", "pending": "等待客户", "resolved": "已解决", "closed": "已关闭"}
DELIVERY_LABELS = {"queued": "排队发送中", "sending": "发送中", "sent": "已送达", "failed": "发送失败",
                   "passive": "已回复", "pending": "待发送"}


def labels() -> dict:
    """Chinese labels every agent page may show (also for part B's pages)."""
    return {"priority_labels": queue.PRIORITY_LABELS, "reasons": queue.REASONS, "platform_labels": registry.page_labels(),
            "ticket_statuses": TICKET_STATUS_LABELS, "delivery_labels": DELIVERY_LABELS}


async def _accounts(request: web.Request, viewer: Viewer) -> list[Account]:
    async with runtime_of(request).db.sessions() as session:
        return await accounts.visible(session, viewer.visible(Account.id))


def _filter(request: web.Request) -> queue.InboxFilter:
    try:
        return queue.InboxFilter.parse(request.query)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


async def inbox_page(request: web.Request) -> web.StreamResponse:
    viewer = page_viewer(request)
    flt = _filter(request)
    async with runtime_of(request).db.sessions() as session:
        rows = await queue.list_items(session, viewer, flt)
    return aiohttp_jinja2.render_template("inbox.html", request, {
        **labels(), "nav": "inbox", "flt": flt, "rows": rows, "now": now(),
        "accounts": await _accounts(request, viewer), "priorities": queue.PRIORITIES,
        "statuses": list(TICKET_STATUS_LABELS.items())})


async def inbox_rows(request: web.Request) -> web.StreamResponse:
    """The table body alone, fetched again on every live event."""
    viewer = page_viewer(request)
    async with runtime_of(request).db.sessions() as session:
        rows = await queue.list_items(session, viewer, _filter(request))
    return aiohttp_jinja2.render_template("inbox_rows.html", request, {**labels(), "rows": rows, "now": now()})


async def _view(request: web.Request) -> tuple[Viewer, thread_view.ThreadView]:
    viewer = page_viewer(request)
    rt = runtime_of(request)
    try:
        thread_id = int_param(request.match_info["id"], "id")
    except ApiError:
        raise NotFound("会话不存在") from None
    async with rt.db.sessions() as session:
        return viewer, await thread_view.load(session, rt.settings, viewer, thread_id, now())


async def thread_page(request: web.Request) -> web.StreamResponse:
    _, view = await _view(request)
    return aiohttp_jinja2.render_template("thread.html", request, {
        **labels(), "nav": "inbox", "view": view, "ask_rating_default": runtime_of(request).settings.csat_on_resolve})


async def thread_live(request: web.Request) -> web.StreamResponse:
    """Status bar and history alone, fetched again on every live event of the thread."""
    _, view = await _view(request)
    return aiohttp_jinja2.render_template("thread_live.html", request, {**labels(), "view": view})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/inbox", inbox_page)
    app.router.add_get("/inbox/rows", inbox_rows)
    app.router.add_get(r"/threads/{id}", thread_page)
    app.router.add_get(r"/threads/{id}/live", thread_live)
