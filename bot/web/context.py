"""What the agent pages and API handlers reach through the request (set by `bot.web.site`).

A separate key from `bot.web.app.RUNTIME` so that these modules need not import app.py,
which imports them.
"""
from __future__ import annotations

from aiohttp import web

from bot.desk.events import EventBus
from bot.runtime import Runtime

RT = web.AppKey("agent_runtime", Runtime)
EVENTS = web.AppKey("agent_events", EventBus)


def runtime_of(request: web.Request) -> Runtime:
    return request.app[RT]
