"""`carebot agent ...` as an admin runs it: a real process on a fresh home (SQLite)."""
import asyncio
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from bot.desk import auth
from bot.runtime import database
from bot.store.models import Agent, AgentAccount, AuditEntry
from tests.conftest import carebot_env, make_settings, run_carebot


def test_agent_add_grant_token(tmp_path: Path):
    env = carebot_env(tmp_path)
    added = run_carebot(["agent", "add", "alice", "--display-name", "小爱", "--password-stdin"], env,
                        stdin="long-enough-pw\n")
    assert added.returncode == 0 and "alice" in added.stdout, added.stderr
    again = run_carebot(["agent", "add", "alice", "--password-stdin"], env, stdin="long-enough-pw\n")
    assert again.returncode == 2 and "exists already" in again.stderr
    short = run_carebot(["agent", "add", "bob", "--password-stdin"], env, stdin="short\n")
    assert short.returncode == 2
    no_tty = run_carebot(["agent", "add", "bob"], env, stdin="long-enough-pw\n")
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
    unknown = run_carebot(["agent", "grant", "alice", "nowhere"], env)
    assert unknown.returncode == 2 and "nowhere" in unknown.stderr
    token = run_carebot(["agent", "token", "alice"], env)
    assert token.returncode == 0 and token.stdout.startswith("cbt_")

    async def check() -> None:
        async with database(make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'carebot.sqlite3'}")) as db:
            viewer = await auth.token_login(db, token.stdout.strip(), datetime.now(timezone.utc))
            assert viewer is not None and viewer.username == "alice" and viewer.account_ids == frozenset()
            async with db.sessions() as session:
                agent = (await session.execute(select(Agent))).scalar_one()
                assert agent.display_name == "小爱" and agent.password_hash.startswith("$argon2")
                assert "long-enough-pw" not in agent.password_hash
                assert (await session.execute(select(AgentAccount))).first() is None
                actions = set((await session.execute(select(AuditEntry.action))).scalars())
            assert {"agent.add", "token.issue"} <= actions
            assert await auth.token_login(db, "cbt_forged", datetime.now(timezone.utc)) is None

    asyncio.run(check())
