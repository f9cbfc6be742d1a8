"""Shared test setup: one trained default model per run, a real PostgreSQL server, fresh homes.

The default model is trained once (`carebot train` into a models directory shared by the
run, named by the hash of its inputs) and every test home finds it there. PostgreSQL is a
real server (devkit.postgres, from the Debian binaries) started once per run; each test
gets its own database.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.conversation.pipeline import Conversation
from bot.nlu.pool import NluPool
from bot.nlu.training import active_model, ensure_model
from bot.runtime import database
from bot.settings import PROJECT_ROOT, Settings
from devkit.postgres import create_pg_database, throwaway_postgres

CAREBOT = str(Path(sys.executable).with_name("carebot"))
MODELS_DIR = PROJECT_ROOT / ".cache" / "test-models"


def carebot_env(home: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    env.update({"CAREBOT_HOME": str(home), "CAREBOT_MODELS_DIR": str(MODELS_DIR), **extra})  # extra may override
    if database_url:
        env["CAREBOT_DATABASE_URL"] = database_url
    return env


def run_carebot(args: list[str], env: dict[str, str], stdin: str = "", timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([CAREBOT, *args], input=stdin, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train (or find) the default model once for the whole run."""
    home = tmp_path_factory.mktemp("train-home")
    result = run_carebot(["train"], carebot_env(home), timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    path = Path(result.stdout.rsplit("(", 1)[1].split(")", 1)[0])  # "Active model: V (PATH)"
    assert path.is_file() and path.parent == MODELS_DIR, result.stdout
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with throwaway_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database test runs on both SQLite and the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'carebot.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    return asyncio.run(create_pg_database(server))


def make_settings(home: Path, database_url: str, **overrides: str) -> Settings:
    env = carebot_env(home, database_url, **overrides)
    return Settings.from_env(env)


@pytest_asyncio.fixture(scope="session")
async def nlu_pool(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[NluPool]:
    """One real NLU worker on the default model, shared by the in-process tests."""
    settings = make_settings(tmp_path_factory.mktemp("pool-home"), "sqlite+aiosqlite:///:memory:")
    pool = NluPool(settings)
    await pool.start(str(trained_model))
    yield pool
    await pool.close()


@pytest_asyncio.fixture
async def conversation(nlu_pool: NluPool, database_url: str, tmp_path: Path) -> AsyncIterator[Conversation]:
    """A Conversation on a fresh database (both kinds) with the real shared worker.

    Business hours are set to the whole day so that replies do not depend on the clock.
    """
    settings = make_settings(tmp_path, database_url, CAREBOT_BUSINESS_HOURS="00:00-23:59")
    async with database(settings) as db:
        model, trained = await ensure_model(db, settings, say=lambda _: None)
        assert not trained and model.path == nlu_pool.model_path
        assert (await active_model(db)) is not None
        yield Conversation(db, nlu_pool.parse, settings)


@pytest_asyncio.fixture
async def stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A running app with two agents of the "brand" account, one of "other", and an admin."""
    from tests.agent_stack import staffed_stack  # it builds on this module's helpers
    async with staffed_stack(nlu_pool, database_url, tmp_path, monkeypatch,
                             {"alice": ("brand",), "bob": ("brand",), "olga": ("other",)}, admins=("root",)) as running:
        yield running
