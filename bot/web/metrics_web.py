"""`GET /metrics`: Prometheus text format, on the main port, never public by accident.

Who may read it: with CAREBOT_METRICS_TOKEN set, whoever sends it as a bearer token (from
anywhere; compared in constant time); without it, only a client on this machine's loopback
that came through no proxy. The peer address is the socket's, never a header's: behind
nginx every request comes from 127.0.0.1, so a request carrying a proxy's forwarding header
(X-Forwarded-For, Forwarded, X-Real-IP) is refused even from loopback, and no such header
ever grants access.
"""
from __future__ import annotations

import ipaddress

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from bot.store import gauges
from bot.untrusted import same_secret
from bot.web.context import runtime_of

PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
# scrape-time figures of the shared database, set just before each rendering
_GAUGES = {
    "outbox_backlog": Gauge("carebot_outbox_backlog", "Replies queued or being sent through a platform API"),
    "outbox_failed": Gauge("carebot_outbox_failed", "Replies the outbox gave up on (marked failed, with a reason)"),
    "inbox_waiting": Gauge("carebot_inbox_waiting", "Threads waiting in the inbox for an agent to claim them"),
    "active_model": Gauge("carebot_active_model_id", "Id of the active NLU model in the registry"),
}
SLA_BREACHES = Gauge("carebot_sla_breaches", "Tickets that breached an SLA target, by kind", ["kind"])


def _from_loopback(request: web.Request) -> bool:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not peer or any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(str(peer[0]).split("%", 1)[0]).is_loopback
    except ValueError:  # a Unix socket: no address
        return False


def _refusal(request: web.Request) -> web.Response | None:
    token = runtime_of(request).settings.metrics_token
    if token:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer " and same_secret(header[7:].strip(), token):
            return None
        return web.Response(status=401, text="metrics: send Authorization: Bearer <CAREBOT_METRICS_TOKEN>\n",
                            headers={"WWW-Authenticate": "Bearer"})
    if _from_loopback(request):
        return None
    return web.Response(status=403, text="metrics: only loopback clients (not through a proxy), unless "
                                         "CAREBOT_METRICS_TOKEN is set\n")


async def metrics(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    async with runtime_of(request).db.sessions() as session:
        figures = await gauges.read(session)
    for name, gauge in _GAUGES.items():
        gauge.set(figures[name])
    SLA_BREACHES.labels("first_response").set(figures["sla_first_response"])
    SLA_BREACHES.labels("resolution").set(figures["sla_resolution"])
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
