"""Reads and writes for a group of messages, one statement each (SQLAlchemy Core).

The webhook's common case (a known customer of a bot-owned thread asking an FAQ) needs
the same few rows for every message; fetching and writing them for the whole group at
once keeps the cost per message small, without the ORM's unit of work.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Account, Customer, Message, Thread

Sender = tuple[str, str]  # (account slug, the platform's customer id)

# built once: constructing a statement costs more than running it from the compiled cache
_STORED_KEYS = (select(Message.dedupe_key, Message.state)
                .where(Message.dedupe_key.in_(bindparam("keys", expanding=True))))
_THREADS = (select(Account.slug, Customer.external_id, Thread.id, Thread.customer_id, Thread.owner,
                   Thread.misunderstandings, Thread.clarify_options, Thread.csat_request_id, Thread.account_id)
            .join(Customer, Thread.customer_id == Customer.id)
            .join(Account, Customer.account_id == Account.id)
            .where(Account.slug.in_(bindparam("slugs", expanding=True)),
                   Customer.external_id.in_(bindparam("externals", expanding=True))))
_THREADS_LOCKED = _THREADS.order_by(Thread.id).with_for_update(of=Thread)
_INSERT_MESSAGES = insert(Message.__table__).returning(Message.__table__.c.id, sort_by_parameter_order=True)
_ANSWERED = (update(Thread.__table__).where(Thread.__table__.c.id.in_(bindparam("ids", expanding=True)))
             .values(last_inbound_at=bindparam("now"), window_used=0, last_inbound_public=bindparam("public"),
                     misunderstandings=0, clarify_options=None, updated_at=bindparam("now")))
_ACCOUNTS = select(Account.slug, Account.id, Account.platform).where(Account.slug.in_(bindparam("slugs", expanding=True)))
_CUSTOMER_IDS = select(Customer.account_id, Customer.external_id, Customer.id)
_SEEN = (update(Customer.__table__).where(Customer.__table__.c.id.in_(bindparam("ids", expanding=True)))
         .values(last_seen=bindparam("now")))


@dataclass(frozen=True)
class ThreadRow:
    id: int
    customer_id: int
    owner: str
    misunderstandings: int
    clarify_options: tuple[str, ...]
    csat_request_id: int | None
    account_id: int


async def stored_keys(session: AsyncSession, keys: list[str]) -> dict[str, str]:
    """The dedupe keys among `keys` that are stored already, with their message's state."""
    if not keys:
        return {}
    rows = await (await session.connection()).execute(_STORED_KEYS, {"keys": keys})
    return {key: state for key, state in rows}


async def threads_of(session: AsyncSession, senders: list[Sender], *, lock: bool = False) -> dict[Sender, ThreadRow]:
    """The senders' threads (those that exist); with `lock`, locked for this transaction in
    id order (so that two processes locking overlapping groups cannot deadlock)."""
    if not senders:
        return {}
    wanted = set(senders)
    rows = await (await session.connection()).execute(
        _THREADS_LOCKED if lock else _THREADS,
        {"slugs": sorted({slug for slug, _ in wanted}), "externals": sorted({external for _, external in wanted})})
    found: dict[Sender, ThreadRow] = {}
    for slug, external, *row in rows:
        if (slug, external) in wanted:
            found[(slug, external)] = ThreadRow(row[0], row[1], row[2], row[3], tuple(row[4] or ()), row[5], row[6])
    return found


async def insert_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert message rows (all with the same columns); their ids, in order."""
    if not rows:
        return []
    result = await (await session.connection()).execute(_INSERT_MESSAGES, rows)
    return list(result.scalars())


async def answered(session: AsyncSession, threads: list[tuple[ThreadRow, bool]], now: datetime) -> None:
    """The bot understood and answered these customers (each said in public or not): the
    reply window restarts and the misunderstandings are forgotten."""
    if not threads:
        return
    connection = await session.connection()
    for public in (False, True):
        ids = [thread.id for thread, said_in_public in threads if said_in_public == public]
        if ids:
            await connection.execute(_ANSWERED, {"ids": ids, "now": now, "public": public})
    await connection.execute(_SEEN, {"ids": [thread.customer_id for thread, _ in threads], "now": now})


async def create_threads(session: AsyncSession, senders: list[Sender], now: datetime) -> None:
    """Customers and bot-owned threads for first-time senders of known accounts, two
    statements for the group. A row another transaction creates meanwhile is left as it is
    (ON CONFLICT DO NOTHING); senders of unknown accounts are left to the full unit of work."""
    connection = await session.connection()
    accounts = {slug: (account_id, platform) for slug, account_id, platform in
                await connection.execute(_ACCOUNTS, {"slugs": sorted({slug for slug, _ in senders})})}
    wanted = [(accounts[slug], external) for slug, external in senders if slug in accounts]
    if not wanted:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    await connection.execute(dialect.insert(Customer.__table__).on_conflict_do_nothing(), [
        {"account_id": account_id, "platform": platform, "external_id": external, "first_seen": now,
         "last_seen": now} for (account_id, platform), external in wanted])
    customers = await connection.execute(_CUSTOMER_IDS.where(
        tuple_(Customer.account_id, Customer.external_id).in_([(account_id, external)
                                                               for (account_id, _), external in wanted])))
    await connection.execute(dialect.insert(Thread.__table__).on_conflict_do_nothing(), [
        {"account_id": account_id, "customer_id": customer_id, "owner": "bot", "created_at": now,
         "updated_at": now} for account_id, _, customer_id in customers])
