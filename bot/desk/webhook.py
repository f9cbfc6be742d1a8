"""What the servers' background watchers share: the optional JSON webhook they report to (SLA
breaches, crisis alerts) and the loop that runs a check every few seconds.

The webhook POST runs on its own task behind a queue: a slow or failing receiver costs retries
and a log line, never a delayed check.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger(__name__)


class Report(Protocol):
    """Something a webhook reports: its JSON body, and how a log line names it."""

    def as_json(self) -> dict[str, object]: ...

    @property
    def label(self) -> str: ...


class WebhookPoster:
    """POSTs each report as JSON; retries with backoff, then gives up with a log line."""

    def __init__(self, url: str, *, name: str, attempts: int = 4, base_delay: float = 0.5,
                 timeout: float = 5.0) -> None:
        self.url, self.name = url, name
        self.attempts, self.base_delay = attempts, base_delay
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.queue: asyncio.Queue[Report] = asyncio.Queue(maxsize=10_000)
        self._where = urlsplit(url).netloc  # the URL may carry a token: only the host is logged

    def submit(self, report: Report) -> None:
        try:
            self.queue.put_nowait(report)
        except asyncio.QueueFull:
            log.error("%s webhook queue full, dropping %s", self.name, report.label)

    async def run(self) -> None:
        async with aiohttp.ClientSession(timeout=self.timeout) as http:
            while True:
                report = await self.queue.get()
                await self._deliver(http, report)

    async def _deliver(self, http: aiohttp.ClientSession, report: Report) -> bool:
        problem = ""
        for attempt in range(self.attempts):
            try:
                async with http.post(self.url, json=report.as_json()) as response:
                    if response.status < 300:
                        return True
                    problem = f"HTTP {response.status}"
                    if 400 <= response.status < 500 and response.status not in (408, 429):
                        break  # the receiver refuses this request: sending it again will not help
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                problem = type(exc).__name__
            if attempt + 1 < self.attempts:
                await asyncio.sleep(self.base_delay * 2 ** attempt * (0.5 + random.random()))
        log.error("%s webhook to %s failed for %s: %s", self.name, self._where, report.label, problem)
        return False


def poster(url: str, name: str) -> WebhookPoster | None:
    """The webhook of a setting, or None when the setting is empty."""
    return WebhookPoster(url, name=name) if url else None


async def every(interval: float, check: Callable[[], Awaitable[Any]], what: str,
                webhook: WebhookPoster | None = None) -> None:
    """Run `check` every `interval` seconds until cancelled (and the webhook's sender beside it);
    a failed round is logged and tried again next time (a database hiccup)."""
    tasks = [asyncio.create_task(webhook.run())] if webhook is not None else []
    try:
        while True:
            try:
                await check()
            except Exception:
                log.exception("%s failed", what)
            await asyncio.sleep(interval)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
