"""PIPL requests (admins only): `GET /api/v1/customers/{id}/export` and `POST /api/v1/customers/{id}/erase`
over the API, and the profile page's download `GET /customers/{id}/export` (its erase form posts with the
page's other forms, bot/web/customer_pages.py); through bot.desk.privacy (the same service as
`carebot customer`), each in one unit of work with its audit entry."""
from __future__ import annotations

import json

from aiohttp import web

from bot.desk import privacy
from bot.desk.access import Viewer
from bot.web.auth import api_viewer, now, page_viewer
from bot.web.context import runtime_of
from bot.web.openapi import ApiError, api_route, int_param

EXPORT = ("{format, exported_at, customer_ids, tables: {customers, threads, messages, tickets, inbox, outbox, "
          "csat_ratings, misses, ... every table that references them, people, accounts, audit_log: [row]}}")
ERASED = "{customer_ids, already_erased, changed: {table: rows}}"


async def _export(request: web.Request, viewer: Viewer) -> web.Response:
    viewer.require_admin()
    customer_id = int_param(request.match_info["id"], "id")
    async with runtime_of(request).db.uow() as session:
        document = await privacy.export(session, customer_id, actor=viewer.username, now=now())
    return web.json_response(document, dumps=lambda value: json.dumps(value, ensure_ascii=False),
                             headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}.json"'})


async def api_export(request: web.Request) -> web.Response:
    return await _export(request, api_viewer(request))


async def page_export(request: web.Request) -> web.Response:
    return await _export(request, page_viewer(request))


async def api_erase(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    viewer.require_admin()
    customer_id = int_param(request.match_info["id"], "id")
    try:
        async with runtime_of(request).db.uow() as session:
            summary = await privacy.erase(session, customer_id, actor=viewer.username, now=now())
    except privacy.AlreadyErased as exc:
        raise ApiError(409, exc.reason) from None
    return web.json_response(summary)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/customers/{id}/export", page_export)
    api_route(app, "GET", "/customers/{id}/export", api_export, tag="customers",
              summary="PIPL export (admins): everything stored about the customer and every identity linked "
                      "to it, as JSON (audited)",
              responses={200: EXPORT, 400: "not an id"})
    api_route(app, "POST", "/customers/{id}/erase", api_erase, tag="customers",
              summary="PIPL erase (admins): the texts of the customer and every linked identity replaced, "
                      "identities removed, queued messages cancelled; tickets stay as anonymous statistics "
                      "(audited, without the text)",
              responses={200: ERASED, 400: "not an id", 409: "erased already"})
