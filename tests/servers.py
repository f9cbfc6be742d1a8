"""Whole `carebot serve` processes, for the tests that need real servers: scale-out on one
PostgreSQL, a killed server's worker, nginx in front of two servers."""
from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from tests.conftest import CAREBOT


def free_ports(count: int) -> list[int]:
    """Distinct free ports (the sockets stay open until all are chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


async def wait_ready(http: aiohttp.ClientSession, port: int, timeout: float = 300) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.3)
    raise AssertionError(f"server on {port} never became ready")


@asynccontextmanager
async def carebot_servers(env: dict[str, str], ports: list[int], log_dir: Path) -> AsyncIterator[list[subprocess.Popen]]:
    """`carebot serve` on each port, yielded once all answer /healthz; stopped (SIGTERM) after."""
    logs = [log_dir / f"serve-{port}.log" for port in ports]
    servers = []
    for port, log in zip(ports, logs):
        with open(log, "wb") as stderr:
            servers.append(subprocess.Popen([CAREBOT, "serve", "--port", str(port)], env=env,
                                            stdout=subprocess.DEVNULL, stderr=stderr))
    try:
        async with aiohttp.ClientSession() as http:
            try:
                await asyncio.gather(*(wait_ready(http, port) for port in ports))
            except AssertionError:
                raise AssertionError([(s.poll(), log.read_text()[-1500:]) for s, log in zip(servers, logs)]) from None
        yield servers
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
