"""The agents' side of the web app: templates, static files, login, live events, pages, API.

`setup_agent_web(app, rt)` is called once by `create_app`; every page or API module has a
`setup_routes(app)` called from here (or from create_app, after this).
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.desk import misses
from bot.desk.access import Viewer
from bot.desk.events import EventBus
from bot.nlu.freshness import model_out_of_date
from bot.runtime import Runtime
from bot.store.models import Thread
from bot.web import (alerts_web, audit_pages, auth, customer_pages, faq_web, formatting, inbox_api, inbox_pages,
                     misses_web, privacy_api, report_pages)
from bot.web.context import EVENTS, RT
from bot.web.openapi import OPENAPI, PREFIX, api_route, openapi_document

WEB_DIR = Path(__file__).resolve().parent
KEEPALIVE = 15.0  # seconds between SSE comments, so proxies keep the stream open


async def _template_context(request: web.Request) -> dict:
    viewer = request.get(auth.VIEWER)
    admin = viewer is not None and viewer.is_admin
    # admins see how many misses wait for review on every page: one indexed COUNT
    open_misses = await misses.open_count(request.app[RT].db) if admin else 0
    # the admin pages say when FAQ edits wait for a retraining (remembered: cheap per page)
    stale = (admin and request.path.startswith("/admin")
             and await model_out_of_date(request.app[RT].db, request.app[RT].settings))
    return {"viewer": viewer, "csrf_token": request.get(auth.CSRF) or "", "open_misses": open_misses,
            "model_out_of_date": stale, "open_alerts": await alerts_web.open_alerts_for(request, viewer)}


async def events_stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events for the viewer's accounts: hints to fetch again, never data."""
    viewer = auth.api_viewer(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    accounts: dict[int, int] = {}  # thread -> account (never changes)
    async with request.app[EVENTS].subscribe() as subscription:
        try:
            await response.write(b"retry: 2000\nevent: ready\ndata: {}\n\n")
            while True:
                item = await subscription.get(timeout=KEEPALIVE)
                if item is None:
                    await response.write(b": keepalive\n\n")
                    continue
                if item["topic"] == "shutdown":
                    break
                if await _visible(request, viewer, item, accounts):
                    await response.write(f"event: {item['topic']}\ndata: {json.dumps(item)}\n\n".encode())
        except ConnectionResetError:
            pass  # the browser went away
    return response


async def _visible(request: web.Request, viewer: Viewer, item: dict, accounts: dict[int, int]) -> bool:
    account_id = item.get("account_id")
    thread_id = item.get("thread_id")
    if account_id is None and isinstance(thread_id, int):
        if thread_id not in accounts:
            async with request.app[RT].db.sessions() as session:
                thread = await session.get(Thread, thread_id)
            accounts[thread_id] = thread.account_id if thread else -1
        account_id = accounts[thread_id]
    return account_id is None or viewer.sees(account_id)


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/inbox")


def setup_agent_web(app: web.Application, rt: Runtime) -> None:
    app[RT] = rt
    app[OPENAPI] = {}
    app[EVENTS] = bus = EventBus(rt.db)
    app.middlewares.append(auth.authenticate)  # before jinja's context middleware, which reads the viewer
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(WEB_DIR / "templates")),
                               autoescape=jinja2.select_autoescape(default=True),
                               context_processors=[_template_context])
    formatting.install(env, rt.settings.timezone)
    env.globals["static"] = lambda name: str(app.router["static"].url_for(filename=name))
    app.router.add_static("/static/", WEB_DIR / "static", name="static", append_version=True)
    app.router.add_get("/", root)
    app.router.add_get(PREFIX + "/openapi.json", openapi_document)
    api_route(app, "GET", "/events", events_stream, tag="inbox",
              summary="Server-sent events (topics inbox, thread, ticket, sla, alert, resync) for the caller's accounts",
              responses={200: "text/event-stream"})
    auth.setup_routes(app)
    inbox_pages.setup_routes(app)
    inbox_api.setup_routes(app)
    report_pages.setup_routes(app)
    audit_pages.setup_routes(app)
    misses_web.setup_routes(app)
    faq_web.setup_routes(app)
    customer_pages.setup_routes(app)  # /customers/{id}, /api/v1/customers
    privacy_api.setup_routes(app)  # /api/v1/customers/{id}/export|erase (PIPL)
    alerts_web.setup_routes(app)  # /admin/alerts, the alert banner, /api/v1/alerts, the radar scan

    async def event_bus(app: web.Application) -> AsyncIterator[None]:
        await bus.start()
        yield
        await bus.close()

    app.cleanup_ctx.append(event_bus)
    app.on_shutdown.append(_close_streams)


async def _close_streams(app: web.Application) -> None:
    """Open event streams would hold shutdown up: end them."""
    for subscription in list(app[EVENTS].subscribers):
        subscription.put({"topic": "shutdown"})
