"""Which NLU workers a home's services started, so that a restart can stop a stale one.

Why: `bot.nlu.lifeline` makes a worker exit with its service, but a worker that escaped it
anyway (a kernel without the prctl, a watchdog that could not run) would hold its model's
memory for ever. Each worker a service starts is recorded as `<home>/run/nlu-worker-<pid>.json`
with its own and its parent's start time; `carebot serve` stops, on start, every recorded
worker whose service is gone. Start times make the check safe against recycled pids: a
process is only ever signalled when its pid, its start time and its command line all match the
record. Several services may share one home: a live service's workers are left alone.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

import psutil

log = logging.getLogger(__name__)
WORKER_MODULE = "bot.nlu.worker"


def _run_dir(home: Path) -> Path:
    return home / "run"


def _started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def record(home: Path, worker_pid: int) -> Path:
    """Note that this process started worker `worker_pid`; returns the record's path."""
    path = _run_dir(home) / f"nlu-worker-{worker_pid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": worker_pid, "started": _started(worker_pid),
                                "parent": os.getpid(), "parent_started": _started(os.getpid())}))
    return path


def forget(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def _same_process(pid: int, started: float | None, *, worker: bool) -> psutil.Process | None:
    """The live process the record names, or None (gone, or its pid now belongs to another)."""
    try:
        process = psutil.Process(pid)
        if started is None or abs(process.create_time() - started) > 0.01:
            return None
        if gone(process):
            return None
        if worker and WORKER_MODULE not in process.cmdline():
            return None
        return process
    except psutil.Error:
        return None


def gone(process: psutil.Process) -> bool:
    """Exited (a zombie counts: an orphan's zombie waits for init, not for us)."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _wait_gone(process: psutil.Process, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not gone(process) and time.monotonic() < deadline:
        time.sleep(0.05)


def reap_stale(home: Path) -> list[int]:
    """Stop the recorded workers of this home whose service is gone; returns their pids."""
    reaped = []
    for path in sorted(_run_dir(home).glob("nlu-worker-*.json")):
        try:
            entry = json.loads(path.read_text())
            pid, parent = int(entry["pid"]), int(entry["parent"])
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("unreadable worker record %s: removed", path)
            forget(path)
            continue
        if _same_process(parent, entry.get("parent_started"), worker=False) is not None:
            continue  # its service still runs (another process on the same home)
        worker = _same_process(pid, entry.get("started"), worker=True)
        if worker is not None:
            log.warning("stopping NLU worker %s left behind by a service that is gone (pid %s)", pid, parent)
            worker.send_signal(signal.SIGKILL)
            _wait_gone(worker)
            reaped.append(pid)
        forget(path)
    return reaped
