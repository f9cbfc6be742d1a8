"""The audit log page for admins: who did what to which record, filtered and paged."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from bot.store import audit
from bot.untrusted import ascii_int
from bot.web.auth import page_viewer
from bot.web.context import runtime_of
from bot.web.openapi import ApiError

PAGE_SIZE = 50
MAX_PAGE = 10_000
FILTERS = ("actor", "action", "entity", "from", "to")


def _moment(text: str, zone: ZoneInfo, name: str, *, after: bool = False) -> datetime | None:
    """Local midnight of a YYYY-MM-DD day (of the day after, for the end of a range)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{name} 必须是 YYYY-MM-DD 格式的日期") from None
    return datetime.combine(day + timedelta(days=after), datetime.min.time(), tzinfo=zone)


async def audit_page(request: web.Request) -> web.StreamResponse:
    page_viewer(request).require_admin()
    rt = runtime_of(request)
    params = {name: request.query.get(name, "").strip()[:64] for name in FILTERS}
    page = ascii_int(request.query.get("page", "1"), MAX_PAGE)
    if page is None or page < 1:
        raise ApiError(400, f"page 必须是 1 到 {MAX_PAGE} 之间的整数")
    zone = ZoneInfo(rt.settings.timezone)
    since, until = _moment(params["from"], zone, "from"), _moment(params["to"], zone, "to", after=True)
    async with rt.db.sessions() as session:
        rows, more = await audit.search(session, actor=params["actor"], action=params["action"],
                                        entity=params["entity"], since=since, until=until,
                                        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        choices = await audit.facets(session)
    kept = {name: value for name, value in params.items() if value}
    context: dict[str, Any] = {
        "nav": "audit", "entries": rows, "params": params, "choices": choices, "page": page,
        "previous": f"?{urlencode({**kept, 'page': page - 1})}" if page > 1 else None,
        "next": f"?{urlencode({**kept, 'page': page + 1})}" if more else None}
    return aiohttp_jinja2.render_template("audit.html", request, context)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/admin/audit", audit_page)
