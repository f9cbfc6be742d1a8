"""Who answers a thread (`Thread.owner`), and the only ways that may change.

The owner goes bot -> queue (a handoff or a complaint) -> agent (a claim, auto-assignment or
a transfer) -> bot (resolved); an agent may also release the thread to the queue or transfer
it to another agent, and an admin may release or resolve a thread nobody has claimed yet.
Every change of the owner goes through this module, so a forbidden one (an agent taking a
thread the bot still answers, say) raises `ForbiddenTransition` instead of leaving a thread
nobody answers or two parties answer.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Thread

OWNERS = ("bot", "queue", "agent")
ALLOWED = frozenset({
    ("bot", "queue"),  # handoff
    ("queue", "agent"), ("agent", "agent"),  # claim, auto-assignment, transfer
    ("agent", "queue"), ("queue", "queue"),  # release (by an admin: also while nobody holds it)
    ("agent", "bot"), ("queue", "bot"),  # resolve
})


class ForbiddenTransition(RuntimeError):
    """The thread's owner may not change this way; nothing was changed."""

    def __init__(self, thread_id: int | None, old: str, new: str) -> None:
        super().__init__(f"thread {thread_id}: the owner may not change from {old!r} to {new!r}")
        self.thread_id, self.old, self.new = thread_id, old, new


def check(old: str, new: str, thread_id: int | None = None) -> None:
    if (old, new) not in ALLOWED:
        raise ForbiddenTransition(thread_id, old, new)


def to_queue(thread: Thread, now: datetime | None = None) -> None:
    """People answer next, whoever of them comes first: a handoff, or an agent's release.
    A handoff (from the bot) also re-arms the one waiting notice the customer gets."""
    check(thread.owner, "queue", thread.id)
    if thread.owner == "bot":
        thread.handoff_notice_sent = False
    thread.owner, thread.agent_id = "queue", None
    if now is not None:
        thread.updated_at = now


def to_agent(thread: Thread, agent_id: int, now: datetime) -> None:
    """One agent answers next (a transfer of a loaded, locked thread)."""
    check(thread.owner, "agent", thread.id)
    thread.owner, thread.agent_id, thread.updated_at = "agent", agent_id, now


def to_bot(thread: Thread, now: datetime) -> None:
    """Resolved: the bot answers the next message, starting afresh (no misunderstandings
    counted, a later handoff sends its waiting notice again)."""
    check(thread.owner, "bot", thread.id)
    thread.owner, thread.agent_id = "bot", None
    thread.misunderstandings, thread.handoff_notice_sent = 0, False
    thread.updated_at = now


async def claimed(session: AsyncSession, thread_id: int, agent_id: int, now: datetime) -> None:
    """The agent won the thread's inbox item (a claim or auto-assignment, which do not load the
    thread): one conditional UPDATE, raising ForbiddenTransition if the thread was not waiting
    for a person."""
    sources = sorted(old for old, new in ALLOWED if new == "agent")
    changed = await session.execute(update(Thread).where(Thread.id == thread_id, Thread.owner.in_(sources))
                                    .values(owner="agent", agent_id=agent_id, updated_at=now))
    if changed.rowcount != 1:
        old = (await session.execute(select(Thread.owner).where(Thread.id == thread_id))).scalar_one_or_none()
        raise ForbiddenTransition(thread_id, old or "missing", "agent")
