"""What the bot missed: rows written as the misses happen, read by the admins' review page and CLI."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Message, Miss, Thread

OPEN = "open"


async def record(session: AsyncSession, inbound: Message, thread: Thread, *, kind: str, key: str) -> Miss:
    """The bot's own miss (clarify, decline, bot_failed), in the transaction that decided `inbound`."""
    miss = Miss(message_id=inbound.id, account_id=thread.account_id, thread_id=thread.id, kind=kind,
                text=inbound.text, key=key, action=inbound.action, intent=inbound.intent,
                confidence=inbound.confidence, created_at=inbound.created_at, status=OPEN)
    session.add(miss)
    return miss


async def of_message(session: AsyncSession, message_id: int) -> Miss | None:
    return (await session.execute(select(Miss).where(Miss.message_id == message_id))).scalar_one_or_none()


async def flag(session: AsyncSession, inbound: Message, thread: Thread, reply: Message, *, key: str, agent: str,
               now: datetime) -> Miss:
    """An agent says `reply` (the bot's answer to `inbound`) was wrong: a new open miss, or the
    message's earlier one opened again with the agent's name on it. The caller refuses a labelled one."""
    miss = await of_message(session, inbound.id)
    if miss is None:
        miss = Miss(message_id=inbound.id, account_id=thread.account_id, thread_id=thread.id, text=inbound.text,
                    key=key, action=inbound.action, intent=inbound.intent, confidence=inbound.confidence,
                    created_at=inbound.created_at)
        session.add(miss)
    miss.kind, miss.reply_id, miss.flagged_by, miss.status = "flagged", reply.id, agent, OPEN
    miss.resolved_by = miss.resolved_at = None
    await session.flush()
    return miss


async def open_count(session: AsyncSession) -> int:
    """One indexed COUNT: shown on every admin page."""
    return (await session.execute(select(func.count()).select_from(Miss).where(Miss.status == OPEN))).scalar_one()


async def open_misses(session: AsyncSession, limit: int) -> list[Miss]:
    """The newest open misses, newest first."""
    rows = await session.execute(select(Miss).where(Miss.status == OPEN)
                                 .order_by(Miss.created_at.desc(), Miss.id.desc()).limit(limit))
    return list(rows.scalars())


async def by_ids(session: AsyncSession, ids: list[int]) -> dict[int, Miss]:
    """The misses named, locked for the change about to be made to them (PostgreSQL)."""
    rows = await session.execute(select(Miss).where(Miss.id.in_(ids)).order_by(Miss.id).with_for_update())
    return {miss.id: miss for miss in rows.scalars()}


def close(miss: Miss, status: str, label: str | None, actor: str, now: datetime) -> None:
    miss.status, miss.label, miss.resolved_by, miss.resolved_at = status, label, actor, now


async def flagged_replies(session: AsyncSession, thread_id: int) -> frozenset[int]:
    """The bot replies of a thread agents have flagged (the page shows them as flagged)."""
    rows = await session.execute(select(Miss.reply_id).where(Miss.thread_id == thread_id,
                                                              Miss.reply_id.is_not(None)))
    return frozenset(rows.scalars())
