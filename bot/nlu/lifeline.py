"""An NLU worker never outlives the `carebot serve` that started it.

Why: a worker holds a loaded model (about 830 MB). When the service is killed with SIGKILL
(or crashes) it cannot stop its workers, and every crash-and-restart would leak one. Two
independent guards, so that either alone is enough:

- the kernel: `prctl(PR_SET_PDEATHSIG, SIGKILL)` (Linux) kills the worker the moment its
  parent exits, whatever the reason;
- a watchdog thread: once the parent is gone the worker is re-parented, so `getppid()`
  changes; it then exits (for kernels or sandboxes where the prctl is unavailable).

Runs inside `.venv-nlu` (Python 3.10), so it uses the standard library only.
"""
from __future__ import annotations

import ctypes
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_INTERVAL = 0.5  # seconds between two looks at the parent


def die_with_parent(parent_pid: int) -> None:
    """Make this process exit when `parent_pid` (its parent) exits."""
    _ask_kernel()
    if os.getppid() != parent_pid:  # the parent died before the kernel was asked
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), name="lifeline", daemon=True).start()


def _ask_kernel() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the watchdog alone
        pass


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_INTERVAL)
    os._exit(1)  # nothing to flush: the worker keeps no state of its own
