"""Thread ownership: the allowed transitions happen, the forbidden ones raise and change nothing."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.store import accounts, agents, ownership, threads
from bot.store.db import Database
from bot.store.models import Thread

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(minutes=5)


def thread(owner: str, agent_id: int | None = None) -> Thread:
    return Thread(id=7, owner=owner, agent_id=agent_id, misunderstandings=2, handoff_notice_sent=True,
                  updated_at=NOW)


def test_a_handoff_queues_the_thread_and_rearms_the_waiting_notice():
    t = thread("bot")
    ownership.to_queue(t)
    assert (t.owner, t.agent_id, t.handoff_notice_sent) == ("queue", None, False)


def test_a_release_queues_the_thread_and_keeps_the_notice_already_sent():
    t = thread("agent", agent_id=3)
    ownership.to_queue(t, LATER)
    assert (t.owner, t.agent_id, t.handoff_notice_sent, t.updated_at) == ("queue", None, True, LATER)


@pytest.mark.parametrize("owner", ["queue", "agent"])
def test_an_agent_takes_a_waiting_or_transferred_thread(owner: str):
    t = thread(owner, agent_id=3 if owner == "agent" else None)
    ownership.to_agent(t, 4, LATER)
    assert (t.owner, t.agent_id, t.updated_at) == ("agent", 4, LATER)


@pytest.mark.parametrize("owner", ["queue", "agent"])
def test_resolving_gives_the_thread_back_to_the_bot_afresh(owner: str):
    t = thread(owner, agent_id=3 if owner == "agent" else None)
    ownership.to_bot(t, LATER)
    assert (t.owner, t.agent_id, t.misunderstandings, t.handoff_notice_sent) == ("bot", None, 0, False)


@pytest.mark.parametrize("move", ["to_agent", "to_bot"])
def test_nobody_takes_or_resolves_a_thread_the_bot_answers(move: str):
    t = thread("bot")
    with pytest.raises(ownership.ForbiddenTransition) as refused:
        ownership.to_agent(t, 4, LATER) if move == "to_agent" else ownership.to_bot(t, LATER)
    assert (refused.value.thread_id, refused.value.old) == (7, "bot")
    assert (t.owner, t.agent_id, t.misunderstandings, t.handoff_notice_sent, t.updated_at) == ("bot", None, 2, True, NOW)


def test_the_bot_hands_a_thread_only_to_the_queue():
    assert {owner for pair in ownership.ALLOWED for owner in pair} == set(ownership.OWNERS)
    refused = [(old, new) for old in ownership.OWNERS for new in ownership.OWNERS if (old, new) not in ownership.ALLOWED]
    assert refused == [("bot", "bot"), ("bot", "agent")]
    for old, new in refused:
        with pytest.raises(ownership.ForbiddenTransition):
            ownership.check(old, new)


async def test_a_claim_takes_a_queued_thread_but_not_one_the_bot_answers(tmp_path: Path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/own.db")
    await db.migrate()
    async with db.uow() as session:
        account = await accounts.ensure(session, "console", "console")
        queued = await threads.ensure_thread(session, account, "waiting", NOW)
        ownership.to_queue(queued)
        answered = await threads.ensure_thread(session, account, "chatting", NOW)
        agent = await agents.add(session, username="li", display_name="", role="agent", password_hash=None, now=NOW)
        queued_id, answered_id, agent_id = queued.id, answered.id, agent.id
    async with db.uow() as session:
        await ownership.claimed(session, queued_id, agent_id, LATER)
    with pytest.raises(ownership.ForbiddenTransition, match="'bot' to 'agent'"):
        async with db.uow() as session:
            await ownership.claimed(session, answered_id, agent_id, LATER)
    async with db.sessions() as session:
        taken = await session.get(Thread, queued_id)
        assert (taken.owner, taken.agent_id) == ("agent", agent_id)
        assert (await session.get(Thread, answered_id)).owner == "bot"
    await db.dispose()
