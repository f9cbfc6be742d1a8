"""A limit on login attempts per client address, so that one client cannot try passwords
against many agents (the per-agent lockout in bot/desk/auth.py bounds guesses at one).

Kept in this process's memory: with N `carebot serve` processes behind a proxy, one address
gets up to N times the limit. Behind a reverse proxy on the same machine every request comes
from loopback, so the address is the last entry of `X-Forwarded-For` (the one the proxy
added) when the request comes from loopback, and the peer's address otherwise.
"""
from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import Callable

from aiohttp import web

WINDOW = 60.0  # seconds
MAX_ADDRESSES = 10_000  # memory bound: the longest-unseen addresses are forgotten first


class AttemptLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._attempts: dict[str, deque[float]] = {}

    def wait(self, address: str, per_minute: int) -> float:
        """Count one attempt from `address`: 0 if allowed, else the seconds until one is (not counted)."""
        if per_minute <= 0:
            return 0.0
        now = self._clock()
        times = self._attempts.pop(address, None) or deque()
        while times and times[0] <= now - WINDOW:
            times.popleft()
        self._attempts[address] = times  # re-inserted: the dict's order is most recently seen last
        while len(self._attempts) > MAX_ADDRESSES:
            del self._attempts[next(iter(self._attempts))]
        if len(times) >= per_minute:
            return max(times[0] + WINDOW - now, 0.001)
        times.append(now)
        return 0.0


def client_address(request: web.Request) -> str:
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and _is_loopback(peer):
        return forwarded.rsplit(",", 1)[-1].strip() or peer
    return peer


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
