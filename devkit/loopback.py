"""What the fakes share: serving one on loopback, answering slowly, a prepared push to
tamper with, and sending one in two TCP segments as real networks do."""
from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, replace
from urllib.parse import urlencode, urlsplit

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


async def send_in_two_segments(prepared: PreparedRequest, headers: dict[str, str], *, chunked: bool = False,
                               pause: float = 0.0) -> tuple[int, str]:
    """POST `prepared` over a raw socket: the headers and the first half of the body, then
    after `pause` seconds the rest (with Content-Length, or as two chunks). Real traffic is
    split like this, and a server that reads only what has arrived sees half a body.
    Returns (status, body)."""
    url = urlsplit(prepared.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    half = len(prepared.body) // 2
    parts = [prepared.body[:half], prepared.body[half:]]
    lines = [f"POST {url.path}?{urlencode(prepared.params)} HTTP/1.1", f"Host: {url.netloc}", "Connection: close",
             *(f"{name}: {value}" for name, value in headers.items()),
             "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(prepared.body)}"]
    if chunked:
        parts = [b"%x\r\n%s\r\n" % (len(part), part) for part in parts]
        parts[1] += b"0\r\n\r\n"
    try:
        writer.write("\r\n".join(lines).encode() + b"\r\n\r\n" + parts[0])
        await writer.drain()
        await asyncio.sleep(pause)
        writer.write(parts[1])
        await writer.drain()
        response = await reader.read()  # the server closes: Connection: close
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode("utf-8", "replace")
