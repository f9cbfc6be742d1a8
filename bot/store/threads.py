"""Customers and threads: finding (or creating) who a message is from, and its stored replies."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Account, Customer, Message, Thread


async def locked(session: AsyncSession, thread_id: int) -> Thread | None:
    """The thread, its row locked for this unit of work (one change of it at a time)."""
    return (await session.execute(select(Thread).where(Thread.id == thread_id)
                                  .with_for_update(of=Thread))).scalar_one_or_none()


async def history(session: AsyncSession, thread_id: int, limit: int | None = None) -> list[Message]:
    """The thread's messages in order (with `limit`: the latest so many)."""
    query = select(Message).where(Message.thread_id == thread_id).order_by(Message.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(reversed(list((await session.execute(query)).scalars())))


async def find_thread(session: AsyncSession, account_id: int, external_id: str,
                      *, lock: bool = False) -> Thread | None:
    query = (select(Thread).join(Customer, Thread.customer_id == Customer.id)
             .where(Customer.account_id == account_id, Customer.external_id == external_id))
    if lock:
        query = query.with_for_update(of=Thread)
    return (await session.execute(query)).scalars().first()


async def ensure_thread(session: AsyncSession, account: Account, external_id: str,
                        now: datetime) -> Thread:
    """The customer's thread, locked for this unit of work (one message at a time)."""
    thread = await find_thread(session, account.id, external_id, lock=True)
    if thread is not None:
        thread.customer.last_seen = now
        return thread
    try:
        async with session.begin_nested():
            customer = Customer(account_id=account.id, platform=account.platform,
                                external_id=external_id, first_seen=now, last_seen=now)
            session.add(customer)
            await session.flush()
            session.add(Thread(account_id=account.id, customer_id=customer.id, owner="bot",
                               created_at=now, updated_at=now))
    except IntegrityError:
        pass  # created concurrently by another message from the same customer
    thread = await find_thread(session, account.id, external_id, lock=True)
    assert thread is not None
    return thread


async def by_dedupe_key(session: AsyncSession, key: str) -> Message | None:
    return (await session.execute(select(Message).where(Message.dedupe_key == key))).scalar_one_or_none()


async def replies_to(session: AsyncSession, message_id: int) -> list[Message]:
    rows = await session.execute(select(Message).where(Message.reply_to_id == message_id)
                                 .order_by(Message.id))
    return list(rows.scalars())
