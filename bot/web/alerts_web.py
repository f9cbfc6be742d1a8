"""Crisis alerts on the web: the admins' page (/admin/alerts) with each alert's complaints and
timeline, notify and close; the banner every agent page shows; the API; and the radar scan
every server runs (bot/desk/radar.py)."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from bot.channels.registry import split_warnings
from bot.desk import alert_handling
from bot.desk.access import Viewer
from bot.desk.alert_handling import AlertConflict, AlertInvalid
from bot.desk.radar import RadarWatch
from bot.desk.webhook import poster
from bot.web import charts
from bot.web.auth import api_viewer, now, page_viewer
from bot.web.context import RT, runtime_of
from bot.web.openapi import ApiError, api_route, int_param, json_body

PAGE = "/admin/alerts"
NOTIFY_BODY = {"type": "object", "required": ["text"], "properties": {
    "text": {"type": "string", "description": "the reviewed statement; one message of every platform of the alert"}}}
CLOSE_BODY = {"type": "object", "required": ["reason"], "properties": {
    "reason": {"type": "string", "maxLength": alert_handling.MAX_REASON}}}


def too_long(text: str, platforms: set[str]) -> str | None:
    """Why the statement does not fit one message of each platform (WeChat 2,048 bytes, Weibo 300
    characters: the channels' own limits), or None."""
    over = split_warnings(text, platforms)
    if not over:
        return None
    return "通知内容超过平台单条消息的上限：" + "、".join(f"{w['label']} {w['limit']}" for w in over)


def _status(value: str | None) -> str:
    status = value or "open"
    if status not in alert_handling.STATUSES:
        raise ApiError(400, "status 必须是 open 或 closed")
    return status


async def _notify(request: web.Request, viewer: Viewer, alert_id: int, text: Any) -> alert_handling.Notice:
    if not isinstance(text, str):
        raise AlertInvalid("通知内容必须是文本")
    rt = runtime_of(request)
    async with rt.db.uow() as session:
        return await alert_handling.notify(session, viewer, rt.settings, alert_id, text, now(), too_long)


async def _close(request: web.Request, viewer: Viewer, alert_id: int, reason: Any) -> None:
    if not isinstance(reason, str):
        raise AlertInvalid("关闭原因必须是文本")
    async with runtime_of(request).db.uow() as session:
        await alert_handling.close(session, viewer, alert_id, reason, now())


def _api_error(refused: AlertConflict | AlertInvalid) -> ApiError:
    return ApiError(409 if isinstance(refused, AlertConflict) else 422, refused.reason)


async def api_list(request: web.Request) -> web.Response:
    api_viewer(request).require_admin()
    status = _status(request.query.get("status"))
    async with runtime_of(request).db.sessions() as session:
        found = await alert_handling.listing(session, status)
    return web.json_response({"alerts": [view.as_json() for view in found]})


async def api_notify(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    alert_id = int_param(request.match_info["id"], "id")
    body = await json_body(request)
    try:
        notice = await _notify(request, viewer, alert_id, body.get("text"))
    except (AlertConflict, AlertInvalid) as refused:
        raise _api_error(refused) from None
    return web.json_response(notice.as_json(), status=202)


async def api_close(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    alert_id = int_param(request.match_info["id"], "id")
    body = await json_body(request)
    try:
        await _close(request, viewer, alert_id, body.get("reason"))
    except (AlertConflict, AlertInvalid) as refused:
        raise _api_error(refused) from None
    async with runtime_of(request).db.sessions() as session:
        closed = await alert_handling.one(session, alert_id)
    return web.json_response(closed.as_json())


def _timeline(view: alert_handling.AlertView, zone: ZoneInfo, window: timedelta) -> charts.Chart:
    """Complaints over time, at least one radar window wide (a burst within a minute is one bar
    among empty ones, not one bar across the chart)."""
    first, last = view.alert.first_at, view.alert.last_at
    slots = alert_handling.timeline(view.members, first, max(last, first + window))
    labels = [at.astimezone(zone).strftime("%m-%d %H:%M") for at, _ in slots]
    return charts.bars(labels, [n for _, n in slots], short=lambda label: label[6:])


async def _render(request: web.Request, *, status: int = 200, **extra: Any) -> web.Response:
    rt = runtime_of(request)
    shown = _status(request.query.get("status"))
    async with rt.db.sessions() as session:
        found = await alert_handling.listing(session, shown)
    zone, window = ZoneInfo(rt.settings.timezone), timedelta(minutes=rt.settings.radar_window_minutes)
    return aiohttp_jinja2.render_template("alerts_admin.html", request, {
        "nav": "alerts", "shown": shown, "alerts": found, "charts": {v.alert.id: _timeline(v, zone, window) for v in found},
        "statements": {v.alert.id: alert_handling.statement(v.alert.topic) for v in found},
        "window_minutes": rt.settings.radar_window_minutes, "error": "", "notice": None, "form": {}, **extra},
        status=status)


async def admin_page(request: web.Request) -> web.StreamResponse:
    page_viewer(request).require_admin()
    return await _render(request)


async def admin_submit(request: web.Request) -> web.StreamResponse:
    viewer = page_viewer(request)
    viewer.require_admin()
    alert_id = int_param(request.match_info["id"], "id")
    form = dict(await request.post())
    try:
        if request.match_info["action"] == "notify":
            notice = await _notify(request, viewer, alert_id, form.get("text", ""))
            return await _render(request, notice=notice)
        await _close(request, viewer, alert_id, form.get("reason", ""))
    except (AlertConflict, AlertInvalid) as refused:
        return await _render(request, status=_api_error(refused).status, error=refused.reason,
                             form={**form, "alert_id": alert_id})
    raise web.HTTPSeeOther(f"{PAGE}?status=closed")


async def banner_fragment(request: web.Request) -> web.StreamResponse:
    """The banner alone, for pages that heard an `alert` event."""
    page_viewer(request)
    return aiohttp_jinja2.render_template("alert_banner.html", request, {})


async def open_alerts_for(request: web.Request, viewer: Viewer | None) -> list:
    """The open alerts the viewer's pages announce (the base template's banner); one small query."""
    if viewer is None:
        return []
    async with request.app[RT].db.sessions() as session:
        return await alert_handling.banner(session, viewer)


async def radar(app: web.Application) -> AsyncIterator[None]:
    """The radar scan (and the alert webhook's sender) in every `carebot serve` process."""
    rt = app[RT]
    watch = RadarWatch(rt.db, rt.settings, webhook=poster(rt.settings.alert_webhook_url, "alert"))
    task = asyncio.create_task(watch.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup_routes(app: web.Application) -> None:
    app.router.add_get(PAGE, admin_page)
    app.router.add_post(PAGE + r"/{id}/{action:notify|close}", admin_submit)
    app.router.add_get("/alerts/banner", banner_fragment)
    api_route(app, "GET", "/alerts", api_list, tag="alerts", query={"status": "open (default) | closed"},
              summary="Crisis alerts (admins): waves of complaints about one topic, with their threads",
              responses={200: "{alerts: [{id, topic, status, accounts, count, first_at, last_at, thread_ids, "
                              "ticket_ids, ...}]}", 400: "bad status"})
    api_route(app, "POST", "/alerts/{id}/notify", api_notify, tag="alerts", body=NOTIFY_BODY,
              summary="Queue the statement to every affected customer inside their channel's reply window "
                      "(admins; all or nothing; audited)",
              responses={202: "{queued, outside_window, queued_thread_ids, outside: [{thread_id, customer, "
                              "account, reason}]}", 400: "not JSON",
                         409: "alert closed, or every affected customer notified already",
                         422: "empty text, or longer than one message of a platform of the alert"})
    api_route(app, "POST", "/alerts/{id}/close", api_close, tag="alerts", body=CLOSE_BODY,
              summary="Close an alert with the reason (admins; audited)",
              responses={200: "the closed alert", 400: "not JSON", 409: "closed already", 422: "no reason"})
    app.cleanup_ctx.append(radar)
