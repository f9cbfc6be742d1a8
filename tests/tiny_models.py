"""The tiny model (tests/data/tiny_nlu: trains in seconds) for tests whose servers switch
models, so they never swap the shared default worker; and a server stack running on it."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.nlu.pool import NluPool
from tests.agent_stack import AgentStack, staffed_stack
from tests.conftest import carebot_env, make_settings, run_carebot

TINY = Path(__file__).parent / "data" / "tiny_nlu"
TINY_ENV = {"CAREBOT_NLU_DATA": str(TINY), "CAREBOT_NLU_CONFIG": str(TINY / "config.yml")}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model of a fresh database (trained once, then found in the shared models directory)."""
    result = run_carebot(["train"], carebot_env(tmp_path_factory.mktemp("tiny-home"), **TINY_ENV))
    assert result.returncode == 0, result.stderr[-3000:]
    return Path(result.stdout.rsplit("(", 1)[1].split(")", 1)[0])  # "Active model: V (PATH)"


@asynccontextmanager
async def tiny_stack(tiny_model: Path, database_url: str, tmp_path: Path, monkeypatch,
                     **env: str) -> AsyncIterator[AgentStack]:
    """A running app on the tiny data with a worker of its own (it follows model activations),
    agent alice (account brand) and admin root."""
    pool = NluPool(make_settings(tmp_path / "pool", "sqlite+aiosqlite:///:memory:", **TINY_ENV))
    await pool.start(str(tiny_model))
    try:
        async with staffed_stack(pool, database_url, tmp_path / "app", monkeypatch, {"alice": ("brand",)},
                                 admins=("root",), **TINY_ENV, **env) as running:
            yield running
    finally:
        await pool.close()
