"""Canned replies on the web: the admins' page, the API, and the search behind "/" in the reply box."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.desk import canned_admin
from bot.desk.access import Viewer
from bot.store import canned
from bot.store.models import CannedReply
from bot.web.auth import api_viewer, now, page_viewer
from bot.web.context import runtime_of
from bot.web.openapi import ApiError, api_route, int_param, json_body

CANNED_BODY = {"type": "object", "required": ["shortcut", "text"], "properties": {
    "shortcut": {"type": "string", "maxLength": 32}, "title": {"type": "string", "maxLength": 128},
    "text": {"type": "string", "maxLength": canned.MAX_TEXT}}}


async def add_reply(request: web.Request, viewer: Viewer, fields: Mapping[str, Any]) -> CannedReply:
    """Admins only; CannedError for bad or duplicate input."""
    viewer.require_admin()
    values = {name: value if isinstance(value := fields.get(name), str) else "" for name in ("shortcut", "text", "title")}
    async with runtime_of(request).db.uow() as session:
        return await canned_admin.add(session, actor=viewer.username, now=now(), **values)


async def api_search(request: web.Request) -> web.Response:
    api_viewer(request)
    async with runtime_of(request).db.sessions() as session:
        found = await canned.search(session, request.query.get("q", "")[:64])
    return web.json_response({"replies": [canned_admin.as_json(r) for r in found]})


async def api_add(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    try:
        reply = await add_reply(request, viewer, await json_body(request))
    except canned.CannedError as exc:
        raise ApiError(422, str(exc)) from None
    return web.json_response(canned_admin.as_json(reply), status=201)


async def api_remove(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    reply_id = int_param(request.match_info["id"], "id")
    async with runtime_of(request).db.sessions() as session:
        reply = await session.get(CannedReply, reply_id)
    if reply is None:
        raise ApiError(404, "快捷回复不存在")
    viewer.require_admin()
    async with runtime_of(request).db.uow() as session:
        await canned_admin.remove(session, actor=viewer.username, shortcut=reply.shortcut, now=now())
    return web.Response(status=204)


async def _render(request: web.Request, error: str = "", form: dict | None = None, status: int = 200) -> web.Response:
    async with runtime_of(request).db.sessions() as session:
        replies = await canned.all_replies(session)
    return aiohttp_jinja2.render_template("canned_admin.html", request, {
        "nav": "canned", "replies": replies, "error": error, "form": form or {}}, status=status)


async def admin_page(request: web.Request) -> web.StreamResponse:
    page_viewer(request).require_admin()
    return await _render(request)


async def admin_submit(request: web.Request) -> web.StreamResponse:
    viewer = page_viewer(request)
    viewer.require_admin()
    form = dict(await request.post())
    try:
        if form.get("action") == "remove":
            async with runtime_of(request).db.uow() as session:
                await canned_admin.remove(session, actor=viewer.username, shortcut=str(form.get("shortcut", "")),
                                          now=now())
        else:
            await add_reply(request, viewer, form)
    except canned.CannedError as exc:
        return await _render(request, str(exc), form, status=422)
    raise web.HTTPSeeOther("/admin/canned")


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/admin/canned", admin_page)
    app.router.add_post("/admin/canned", admin_submit)
    api_route(app, "GET", "/canned", api_search, tag="canned", query={"q": "shortcut prefix or words"},
              summary="Search canned replies (what typing \"/\" in the reply box shows)",
              responses={200: "{replies: [{id, shortcut, title, text}]}"})
    api_route(app, "POST", "/canned", api_add, tag="canned", body=CANNED_BODY,
              summary="Add a canned reply (admins)", responses={201: "the reply", 400: "not JSON",
                                                               422: "invalid or duplicate shortcut"})
    api_route(app, "DELETE", "/canned/{id}", api_remove, tag="canned", summary="Remove a canned reply (admins)",
              responses={204: "removed"})
