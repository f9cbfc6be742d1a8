"""Inbound messages stored before they could be decided (state `undecided`).

A verified push must be stored before it is acknowledged: a platform never resends a push
it got an answer for. When the bot cannot decide in time (the NLU is down or slow), the
webhook stores the message as undecided and acknowledges it; the decision later takes the
row over (`adopt`), in whichever process gets to it first. A lease (`claimed_until`) keeps
the recovery loops of other processes off a row that someone is deciding.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store import accounts, grouped, threads
from bot.store.models import Account, Customer, Message, Thread

STATE = "undecided"


@dataclass(frozen=True)
class Kept:
    """One message to store undecided: its sender and its row's values."""

    platform: str
    sender: grouped.Sender
    row: dict[str, Any]  # msg_type, text, raw, dedupe_key, envelope


@dataclass(frozen=True)
class Claimed:
    """An undecided message taken for deciding, with what is needed to decide it."""

    platform: str
    account: str
    sender: str
    message: Message


async def keep(session: AsyncSession, kept: list[Kept], now: datetime, lease_until: datetime) -> None:
    """Store the messages undecided, leased until `lease_until`; a message whose dedupe key is
    stored already (decided, or kept by a retry) is left as it is."""
    senders = [k.sender for k in kept]
    rows = await grouped.threads_of(session, senders)
    if missing := [sender for sender in senders if sender not in rows]:
        await grouped.create_threads(session, missing, now)
        rows = await grouped.threads_of(session, senders)
    thread_ids = {sender: row.id for sender, row in rows.items()}
    for item in kept:  # an account the bulk statements do not know yet (not a webhook's)
        if item.sender not in thread_ids:
            account = await accounts.ensure(session, item.platform, item.sender[0])
            thread_ids[item.sender] = (await threads.ensure_thread(session, account, item.sender[1], now)).id
    connection = await session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    await connection.execute(dialect.insert(Message.__table__).on_conflict_do_nothing(), [
        {**item.row, "thread_id": thread_ids[item.sender], "direction": "in", "author": "customer",
         "created_at": now, "state": STATE, "claimed_until": lease_until} for item in kept])


async def adopt(session: AsyncSession, dedupe_key: str) -> Message | None:
    """Take the undecided message over for the decision in this transaction (the caller holds
    its thread's lock); None if another decision took it first."""
    taken = await session.execute(update(Message).where(
        Message.dedupe_key == dedupe_key, Message.state == STATE)
        .values(state="received", claimed_until=None, envelope=None).returning(Message.id)
        .execution_options(synchronize_session=False))
    message_id = taken.scalar_one_or_none()
    return None if message_id is None else await session.get(Message, message_id, populate_existing=True)


async def claim_due(session: AsyncSession, now: datetime, lease_until: datetime, limit: int,
                    is_postgres: bool) -> list[Claimed]:
    """Take undecided messages whose lease has run out (their process died, or could not
    decide them), leased to the caller until `lease_until`."""
    due = (select(Message.id).where(Message.direction == "in", Message.state == STATE,
                                    or_(Message.claimed_until.is_(None), Message.claimed_until < now))
           .order_by(Message.created_at).limit(limit))  # by the (state, created_at) index, not a scan
    if is_postgres:
        due = due.with_for_update(skip_locked=True)
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    taken = await session.execute(update(Message).where(
        Message.id.in_(ids), Message.state == STATE,
        or_(Message.claimed_until.is_(None), Message.claimed_until < now))
        .values(claimed_until=lease_until).returning(Message.id).execution_options(synchronize_session=False))
    claimed = list(taken.scalars())
    rows = await session.execute(
        select(Account.platform, Account.slug, Customer.external_id, Message)
        .join(Thread, Message.thread_id == Thread.id).join(Customer, Thread.customer_id == Customer.id)
        .join(Account, Thread.account_id == Account.id).where(Message.id.in_(claimed)).order_by(Message.id))
    return [Claimed(platform, slug, external, message) for platform, slug, external, message in rows]


async def release(session: AsyncSession, ids: list[int], retry_at: datetime) -> None:
    """Messages that could not be decided now (the NLU is still down): tried again at `retry_at`."""
    await session.execute(update(Message).where(Message.id.in_(ids), Message.state == STATE)
                          .values(claimed_until=retry_at).execution_options(synchronize_session=False))
