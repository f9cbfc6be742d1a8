"""What the fakes share: serving one on loopback, answering slowly, and a prepared push to
tamper with."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from aiohttp import web


async def serve(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve `app`; returns (runner, base URL without a trailing slash). Stop it with
    `await runner.cleanup()`."""
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


async def wait_unless_gone(request: web.Request, seconds: float) -> bool:
    """Sleep `seconds`; False if the client hung up meanwhile (its timeout fired), so that a
    slow fake drops the request unprocessed, as a platform does whose answer never left."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return True
        await asyncio.sleep(min(left, 0.02))
        transport = request.transport
        if transport is None or transport.is_closing():
            return False


@dataclass(frozen=True)
class PreparedRequest:
    """A signed request to a webhook; the `with_*` copies change one part, so that security
    tests start from a valid request and break one thing."""

    url: str
    params: dict[str, str]
    body: bytes

    def with_params(self, **changes: str):
        return replace(self, params={**self.params, **changes})

    def without(self, *names: str):
        return replace(self, params={k: v for k, v in self.params.items() if k not in names})

    def with_body(self, body: bytes | str):
        return replace(self, body=body.encode("utf-8") if isinstance(body, str) else body)
