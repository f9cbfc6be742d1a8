"""PIPL requests about one consumer: export everything stored about them, or erase it.

Both work on a list of customer ids (every identity of one person: the CLI and the API expand the one
id they are given with `linked_customer_ids`), in the caller's unit of work, and are audited in it.
An erase is one transaction: the text, identities and queued messages go together or not at all,
and its audit entry names the records and counts, never the erased text. Tickets, threads and
ratings stay, anonymous, so the reports keep counting them; an open ticket does not stop an erase.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk.access import NotFound, Refusal
from bot.store import audit, people, privacy

FORMAT = "carebot-customer-export/1"


class AlreadyErased(Refusal):
    default = "该客户的信息已经删除过了"


async def person_ids(session: AsyncSession, customer_id: int) -> list[int]:
    """The customer and every identity linked to it, or NotFound."""
    ids = await people.linked_customer_ids(session, customer_id)
    if not ids:
        raise NotFound(f"客户 {customer_id} 不存在")
    return ids


async def export_customers(session: AsyncSession, customer_ids: list[int], now: datetime) -> dict[str, Any]:
    """Every stored row about the customers, by table (see bot.store.privacy.rows_of)."""
    return {"format": FORMAT, "exported_at": now.isoformat(), "customer_ids": sorted(customer_ids),
            "tables": await privacy.rows_of(session, customer_ids)}


async def export(session: AsyncSession, customer_id: int, *, actor: str, now: datetime) -> dict[str, Any]:
    """The export of the customer's person, audited (who took a copy of whose data)."""
    ids = await person_ids(session, customer_id)
    document = await export_customers(session, ids, now)
    await audit.record(session, actor, "customer.export", "customer", customer_id, now=now,
                       after={"customer_ids": ids})
    return document


async def erasable(session: AsyncSession, customer_ids: list[int], requested: int) -> list[int]:
    """The customers not erased yet (their rows locked until the transaction ends), or a refusal:
    no such customer, or erased already."""
    found = await privacy.existing(session, customer_ids)
    if not found:
        raise NotFound(f"客户 {requested} 不存在")
    live = [customer.id for customer in found if not privacy.is_erased(customer)]
    if not live:
        raise AlreadyErased(f"客户 {requested} 的信息已经删除过了，无需再次删除")
    return live


async def erase_customers(session: AsyncSession, customer_ids: list[int], *, actor: str, now: datetime,
                          requested: int | None = None) -> dict[str, Any]:
    """Erase the customers (those not erased already); refused when there is nothing left to erase.
    What was done: the ids erased and how many rows of each table changed."""
    requested = requested or customer_ids[0]
    live = await erasable(session, customer_ids, requested)
    counts = await privacy.erase(session, live)
    summary = {"customer_ids": live, "already_erased": sorted(set(customer_ids) - set(live)), "changed": counts}
    await audit.record(session, actor, "customer.erase", "customer", requested, now=now, after=summary)
    return summary


async def erase(session: AsyncSession, customer_id: int, *, actor: str, now: datetime) -> dict[str, Any]:
    """Erase the customer's person: every identity linked to it."""
    return await erase_customers(session, await person_ids(session, customer_id), actor=actor, now=now,
                                 requested=customer_id)
