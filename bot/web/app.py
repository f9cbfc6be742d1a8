"""The aiohttp application and the background tasks of one `carebot serve` process."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from sqlalchemy import text

from bot.channels import registry
from bot.channels.base import Outbound
from bot.channels.intake import Intake
from bot.channels.outbound import SendError
from bot.channels.webhook import routes
from bot.conversation.recovery import Recovery
from bot.delivery import PlatformSend, Sender, Undeliverable
from bot.desk.retention import RetentionWatch
from bot.nlu.pool import NluUnavailable
from bot.nlu.training import active_model
from bot.runtime import Runtime
from bot.secret_box import SecretKeyError
from bot.store.models import Account
from bot.web import canned_web, hardening, metrics_web, models_web, ticket_api, ticket_pages
from bot.web.site import setup_agent_web

log = logging.getLogger(__name__)
RUNTIME = web.AppKey("runtime", Runtime)


async def healthz(request: web.Request) -> web.Response:
    """200 once messages can be answered (a worker answers, the database is reachable)."""
    rt = request.app[RUNTIME]
    problems = []
    if not rt.pool.ready:
        problems.append("nlu worker not ready")
    try:
        async with rt.db.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means unhealthy, whatever its type
        problems.append(f"database unreachable: {type(exc).__name__}")
    if problems:
        return web.json_response({"status": "unavailable", "problems": problems}, status=503)
    return web.json_response({"status": "ok", "model": rt.pool.model_path})


async def follow_active_model(rt: Runtime, interval: float = 5.0) -> None:
    """Swap workers when another process (e.g. `carebot train`) activates a new model."""
    while True:
        await asyncio.sleep(interval)
        try:
            model = await active_model(rt.db)
            if model is not None and model.path != rt.pool.model_path:
                log.info("activating model %s", model.version)
                await rt.pool.swap(model.path)
        except NluUnavailable as exc:
            log.error("model swap failed, keeping the current one: %s", exc)


async def _as_undeliverable(send: Callable[[], Awaitable[None]]) -> None:
    """A platform client's failure, as the outbox understands it."""
    try:
        await send()
    except SendError as exc:
        raise Undeliverable(exc.reason, retry=exc.retry) from None
    except SecretKeyError as exc:
        raise Undeliverable(str(exc), retry=False) from None


def platform_senders(clients: dict[str, Outbound]) -> dict[str, PlatformSend]:
    """How the outbox reaches each platform: through its channel's client, its failures
    translated into what the outbox understands."""

    def sender(client: Outbound) -> PlatformSend:
        async def send(account: Account, recipient: str, text: str) -> None:
            await _as_undeliverable(lambda: client.send(account, recipient, text))
        return send

    return {platform: sender(client) for platform, client in clients.items()}


def create_app(rt: Runtime) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    hardening.install(app)
    app[RUNTIME] = rt
    app.router.add_get("/healthz", healthz)
    intake = Intake(rt)
    for channel in registry.CHANNELS:
        if channel.webhook is not None:
            routes(app, channel.webhook(rt, intake))
    setup_agent_web(app, rt)  # login, inbox and thread pages, /api/v1, live events
    ticket_pages.setup_routes(app)  # ticket pages
    ticket_api.setup_routes(app)  # ticket API; its cleanup context runs the SLA watch and auto-assignment
    canned_web.setup_routes(app)
    models_web.setup_routes(app)  # /admin/models: the registry, training jobs, the test set
    metrics_web.setup_routes(app)  # GET /metrics (loopback or bearer)
    clients = {channel.platform: channel.outbound(rt) for channel in registry.CHANNELS if channel.outbound}
    sender = Sender(rt.db, platform_senders(clients), rt.sender_wake)

    async def background(app: web.Application) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(rt.pool.supervise()),
                 asyncio.create_task(follow_active_model(rt)),
                 asyncio.create_task(sender.run()),
                 asyncio.create_task(Recovery(rt.conversation, rt.wake_sender).run())]
        tasks += [asyncio.create_task(channel.background(rt)) for channel in registry.CHANNELS if channel.background]
        if rt.settings.retention_days > 0:  # CAREBOT_RETENTION_DAYS: every server purges (idempotent batches)
            watch = RetentionWatch(rt.db, rt.settings.retention_days, interval=rt.settings.retention_interval)
            tasks.append(asyncio.create_task(watch.run()))
        yield
        await intake.close()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in clients.values():
            await client.close()

    app.cleanup_ctx.append(background)
    return app
