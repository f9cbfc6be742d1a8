"""No orphan NLU workers: a killed `carebot serve` takes its worker along, and a restart stops
a worker a gone service left behind in its home (but never a process that merely got its pid)."""
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import psutil

from bot.nlu.worker_records import gone
from tests.conftest import carebot_env
from tests.servers import carebot_servers, free_ports

# A service that started a worker without the lifeline (as `carebot nlu serve` runs one),
# recorded it as `carebot serve` does, and died: its worker is left behind.
LEAVE_A_WORKER = """
import subprocess, sys
from pathlib import Path
from bot.nlu import worker_records
from bot.nlu.pool import worker_command
from bot.settings import Settings
command, env = worker_command(Settings.from_env(), "serve", "--model", sys.argv[1])
worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True)
worker_records.record(Settings.from_env().home, worker.pid)
print(worker.pid)
"""


def _workers_of(server: subprocess.Popen) -> list[psutil.Process]:
    return [p for p in psutil.Process(server.pid).children(recursive=True) if "bot.nlu.worker" in p.cmdline()]


def _recorded_pids(home: Path) -> set[int]:
    return {json.loads(path.read_text())["pid"] for path in (home / "run").glob("nlu-worker-*.json")}


async def _exits(process: psutil.Process, within: float) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while not gone(process):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_a_killed_server_takes_its_worker_along(trained_model: Path, tmp_path: Path):
    home = tmp_path / "home"
    async with carebot_servers(carebot_env(home), free_ports(1), tmp_path) as [server]:
        [worker] = _workers_of(server)
        assert _recorded_pids(home) == {worker.pid}
        server.kill()  # SIGKILL: the server gets no chance to stop anything
        server.wait()
        assert await _exits(worker, within=5.0), f"worker {worker.pid} outlived its killed server"


async def test_serve_stops_the_worker_a_gone_service_left_in_its_home(trained_model: Path, tmp_path: Path):
    home = tmp_path / "home"
    env = carebot_env(home)
    left = subprocess.run([sys.executable, "-c", LEAVE_A_WORKER, str(trained_model)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert left.returncode == 0, left.stderr
    stale = psutil.Process(int(left.stdout))
    assert not gone(stale)
    # a record whose pid now belongs to another process (started later than the record says)
    bystander = subprocess.Popen(["sleep", "300"])
    recycled = home / "run" / f"nlu-worker-{bystander.pid}.json"
    recycled.write_text(json.dumps({"pid": bystander.pid, "started": psutil.Process(bystander.pid).create_time() - 60,
                                    "parent": stale.pid, "parent_started": 0.0}))
    try:
        async with carebot_servers(env, free_ports(1), tmp_path) as [server]:
            assert await _exits(stale, within=1.0), "the stale worker still runs after the restart"
            assert bystander.poll() is None  # same pid, another process: never signalled
            [worker] = _workers_of(server)
            assert _recorded_pids(home) == {worker.pid}  # the stale and the recycled records are gone
        assert await _exits(worker, within=5.0)  # a clean stop ...
        assert _recorded_pids(home) == set()  # ... forgets its record
    finally:
        bystander.kill()
        bystander.wait()
        if not gone(stale):
            stale.kill()
