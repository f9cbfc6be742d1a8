"""Whole `carebot serve` processes, for the tests that need real servers: scale-out on one
PostgreSQL, a killed server's worker, nginx in front of two servers."""
from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import psutil

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


class Served:
    """One `carebot serve` on 127.0.0.1; `kill` is kill -9 of it and of its NLU workers
    (which run in their own sessions, so they would outlive it)."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.log = log
        with open(log, "wb") as stderr:
            self.process = subprocess.Popen([CAREBOT, "serve", "--port", str(port)], env=env,
                                            stdout=subprocess.DEVNULL, stderr=stderr)
        self._workers: list[psutil.Process] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, http: aiohttp.ClientSession) -> None:
        try:
            await wait_ready(http, self.port)
        except AssertionError:
            raise AssertionError((self.process.poll(), self.log.read_text()[-1500:])) from None
        self._workers = self.nlu_workers()

    def nlu_workers(self) -> list[psutil.Process]:
        return [child for child in psutil.Process(self.process.pid).children(recursive=True)
                if "bot.nlu.worker" in " ".join(child.cmdline())]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._kill_workers()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._kill_workers()

    def _kill_workers(self) -> None:
        for worker in [*self._workers, *(self.nlu_workers() if self.process.poll() is None else [])]:
            try:
                worker.kill()
            except psutil.NoSuchProcess:
                pass
