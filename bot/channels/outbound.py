"""What the platform API clients share: how a send fails, and one lazily opened HTTP session."""
from __future__ import annotations

from dataclasses import dataclass

import aiohttp


@dataclass
class SendError(Exception):
    """A failed send: `retry` says whether trying again later may help."""

    reason: str
    retry: bool
    errcode: int | None = None

    def __str__(self) -> str:
        return self.reason


class HttpClient:
    """One aiohttp session per client, opened on first use (inside the running loop)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None

    def http(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
