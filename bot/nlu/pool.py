"""Service side of the NLU: worker processes, the async client, supervision, hot swap.

The service never imports rasa. It starts `bot.nlu.worker serve` in `.venv-nlu`, waits for
its ready line, and talks to it over loopback HTTP with a timeout, so the event loop never
blocks on model loads or parses (importing rasa alone takes seconds). A new model means new workers: start them, wait until they answer,
switch, then stop the old ones (no stall, and no memory growth from in-process reloads).
Workers exit with the service even when it is killed (`lifeline`), and are recorded in the
home so that a restart stops any that did not (`worker_records`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path

import aiohttp

from bot.nlu import worker_records
from bot.nlu.result import Parse
from bot.settings import PROJECT_ROOT, Settings
from bot.telemetry import NLU_PARSE_SECONDS

log = logging.getLogger(__name__)
MAX_BATCH = 128  # texts per request (the worker accepts up to 256)
# A serving worker computes on one thread: the service runs one worker per core, and OpenBLAS's
# own threads (two per process by default here) only fought the other workers and the service for
# the cores, spinning while they waited. Measured by the webhook benchmark on 2 cores: the
# workers' CPU a message halved (3.4 -> 1.8 ms), 390 -> 510 msgs/s (docs/performance.md).
SERVING_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


class NluUnavailable(RuntimeError):
    """No worker could answer in time."""


def worker_command(settings: Settings, *args: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run `bot.nlu.worker` in `.venv-nlu`."""
    if not settings.nlu_python.exists():
        raise NluUnavailable(f"NLU environment not found at {settings.nlu_python}: run `make setup`")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("RASA_MAX_CACHE_SIZE", "0")  # no training cache in the working directory
    if args[:1] == ("serve",):  # training and evaluation keep every core
        for name, value in SERVING_THREADS.items():
            env.setdefault(name, value)
    return [str(settings.nlu_python), "-m", "bot.nlu.worker", *args], env


class WorkerProcess:
    def __init__(self, settings: Settings, model_path: str) -> None:
        self.settings = settings
        self.model_path = model_path
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""
        self.in_flight = 0  # texts sent and not answered yet
        self._record: Path | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        self.url = ""  # not usable until the new process says it is ready
        worker_records.forget(self._record)  # a restart after the worker died
        command, env = worker_command(self.settings, "serve", "--model", self.model_path,
                                      "--parent-pid", str(os.getpid()))
        log_dir = self.settings.home / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "nlu-worker.log", "ab") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr,
                start_new_session=True)
        self._record = worker_records.record(self.settings.home, self.process.pid)
        try:
            ready = await asyncio.wait_for(self._read_ready(), self.settings.nlu_start_timeout)
        except (asyncio.TimeoutError, NluUnavailable):
            await self.stop()
            raise NluUnavailable(f"NLU worker did not start on {self.model_path}; see {log_dir / 'nlu-worker.log'}")
        self.url = f"http://127.0.0.1:{ready['port']}"
        log.info("NLU worker %s ready on %s (model %s)", self.process.pid, self.url, ready["model"])

    async def _read_ready(self) -> dict:
        assert self.process is not None and self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                raise NluUnavailable("worker exited before it was ready")
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "ready":
                return event

    async def stop(self, drain: float = 0.0) -> None:
        """Stop the process, first letting requests already sent finish (up to `drain` s)."""
        if self.alive:
            await self._terminate(drain)
        worker_records.forget(self._record)
        self._record = None

    async def _terminate(self, drain: float) -> None:
        assert self.process is not None
        self.url = ""
        deadline = asyncio.get_running_loop().time() + drain
        while self.in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 10)
        except (ProcessLookupError, asyncio.TimeoutError):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await self.process.wait()


class NluPool:
    """A set of workers on one model, each request to the least busy; supervised and swappable."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.workers: list[WorkerProcess] = []
        self.model_path: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._swap_lock = asyncio.Lock()
        self._pending: list[tuple[list[str], asyncio.Future[list[Parse]]]] = []
        self._flush: asyncio.Handle | None = None
        self._sending: set[asyncio.Task] = set()

    @property
    def ready(self) -> bool:
        return any(w.alive and w.url for w in self.workers)

    async def start(self, model_path: str) -> None:
        async with self._swap_lock:
            await self._switch(model_path)

    async def swap(self, model_path: str) -> None:
        """Hot swap: the old workers keep answering until the new ones are ready."""
        async with self._swap_lock:
            if model_path != self.model_path:
                await self._switch(model_path)

    async def _switch(self, model_path: str) -> None:
        fresh = [WorkerProcess(self.settings, model_path) for _ in range(max(1, self.settings.nlu_workers))]
        try:
            await asyncio.gather(*(w.start() for w in fresh))
        except NluUnavailable:
            await asyncio.gather(*(w.stop() for w in fresh))
            raise
        old, self.workers, self.model_path = self.workers, fresh, model_path
        await asyncio.gather(*(w.stop(drain=self.settings.nlu_timeout) for w in old))

    async def supervise(self, interval: float = 1.0) -> None:
        """Restart any worker that died (same model); runs until cancelled."""
        while True:
            await asyncio.sleep(interval)
            async with self._swap_lock:
                for worker in self.workers:
                    if not worker.alive:
                        log.warning("NLU worker died (exit %s); restarting",
                                    worker.process.returncode if worker.process else None)
                        try:
                            await worker.start()
                        except NluUnavailable as exc:
                            log.error("%s", exc)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256),
                timeout=aiohttp.ClientTimeout(total=self.settings.nlu_timeout))
        return self._session

    async def parse(self, texts: list[str]) -> list[Parse]:
        """Parse texts together with whatever else was asked for in the same loop iteration.

        Webhooks under load call this once per message; one HTTP request and one graph run
        for all of them costs far less than one each.
        """
        future: asyncio.Future[list[Parse]] = asyncio.get_running_loop().create_future()
        self._pending.append((texts, future))
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_soon(self._send_pending)
        return await future

    def _send_pending(self) -> None:
        self._flush = None
        group: list[tuple[list[str], asyncio.Future[list[Parse]]]] = []
        size = 0
        for item in self._pending:
            if group and size + len(item[0]) > MAX_BATCH:
                self._spawn(self._send_group(group))
                group, size = [], 0
            group.append(item)
            size += len(item[0])
        if group:
            self._spawn(self._send_group(group))
        self._pending = []

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_group(self, group: list[tuple[list[str], asyncio.Future[list[Parse]]]]) -> None:
        try:
            results = await self._parse_now([text for texts, _ in group for text in texts])
        except Exception as exc:  # every caller of the batch gets the failure
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        offset = 0
        for texts, future in group:
            if not future.done():
                future.set_result(results[offset:offset + len(texts)])
            offset += len(texts)

    async def _parse_now(self, texts: list[str]) -> list[Parse]:
        """One request to the least busy live worker (a worker still on a big batch would keep
        these texts waiting); tries each worker once before giving up."""
        for worker in sorted(self.workers, key=lambda w: w.in_flight):
            if not (worker.alive and worker.url):
                continue
            worker.in_flight += len(texts)
            try:
                with NLU_PARSE_SECONDS.time():
                    body = await self._post(worker.url, texts)
                return [Parse.from_worker(item, body.get("calibration")) for item in body["results"]]
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                log.warning("NLU worker %s failed: %r", worker.url, exc)
            finally:
                worker.in_flight -= len(texts)
        raise NluUnavailable("no NLU worker answered")

    async def _post(self, url: str, texts: list[str]) -> dict:
        async with self._http().post(url + "/parse", json={"texts": texts}) as response:
            if response.status != 200:
                raise NluUnavailable(f"worker answered {response.status}: {await response.text()}")
            return await response.json()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        await asyncio.gather(*(w.stop() for w in self.workers))
        self.workers = []

