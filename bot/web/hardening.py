"""What every request and response of the app gets, whatever the route: security headers,
no compressed request bodies, and the server's connection timeout.

The agent pages load scripts and styles only from /static (no inline script or style), so
the strict policy below costs nothing and stops injected markup from running or framing.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.settings import Settings

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
IDENTITY = ("", "identity")


async def _security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


@web.middleware
async def refuse_encoded_bodies(request: web.Request, handler) -> web.StreamResponse:
    """No platform or browser compresses a request body; aiohttp would inflate one on the fly
    (and fail with a 500 on a body that only claims to be gzip), so none is taken."""
    if request.headers.get("Content-Encoding", "").strip().lower() not in IDENTITY:
        raise web.HTTPUnsupportedMediaType(text="Content-Encoding is not supported: send the body uncompressed")
    return await handler(request)


def install(app: web.Application) -> None:
    """Before any other middleware, so that a refused body is never read."""
    app.middlewares.insert(0, refuse_encoded_bodies)
    app.on_response_prepare.append(_security_headers)


def app_runner(app: web.Application, settings: Settings, **kwargs: Any) -> web.AppRunner:
    """The runner every server of the app uses. aiohttp has no separate header read timeout:
    its keep-alive timer runs from the moment a connection opens until a request's headers
    are complete, so it closes half-sent requests (slowloris) as well as idle connections."""
    return web.AppRunner(app, keepalive_timeout=settings.header_timeout, **kwargs)
