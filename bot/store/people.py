"""People: one consumer behind several customer rows (identities), and what their profile reads.

A customer row is one identity on one account (customers are unique on account + platform id).
Identities of the same consumer share a `people` row (`customers.person_id`); a customer whose
person_id is null is a person of its own, so the webhook never writes a person: the row appears
when an identity is first linked, tagged or noted (`ensure_person`).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Account, CsatRating, Customer, Message, Person, Thread, Ticket


async def linked_customer_ids(session: AsyncSession, customer_id: int) -> list[int]:
    """The customer and every identity linked to it, sorted; [customer_id] when it is linked to
    nothing; [] when there is no such customer."""
    person_id = (await session.execute(select(Customer.person_id).where(Customer.id == customer_id))).first()
    if person_id is None:
        return []
    if person_id[0] is None:
        return [customer_id]
    rows = await session.execute(select(Customer.id).where(Customer.person_id == person_id[0]).order_by(Customer.id))
    return list(rows.scalars())


async def identities(session: AsyncSession, customer: Customer) -> list[Customer]:
    """The customer rows of the customer's person (the customer alone when unlinked), by id."""
    if customer.person_id is None:
        return [customer]
    rows = await session.execute(select(Customer).where(Customer.person_id == customer.person_id).order_by(Customer.id))
    return list(rows.scalars())


async def person_of(session: AsyncSession, customer: Customer) -> Person | None:
    return None if customer.person_id is None else await session.get(Person, customer.person_id)


async def ensure_person(session: AsyncSession, customer: Customer, now: datetime) -> Person:
    """The customer's person, made for it if it has none yet."""
    person = await person_of(session, customer)
    if person is None:
        person = Person(tags=[], note="", created_at=now, updated_at=now)
        session.add(person)
        await session.flush()
        customer.person_id = person.id
    return person


async def merge(session: AsyncSession, customer: Customer, other: Customer, now: datetime) -> Person:
    """Make `other` (and every identity linked to it) the same person as `customer`. The
    persons' tags are united and their notes kept, one after the other; the emptied person is
    deleted."""
    person = await ensure_person(session, customer, now)
    absorbed = await person_of(session, other)
    if absorbed is None:
        other.person_id = person.id
    elif absorbed.id != person.id:
        await session.execute(update(Customer).where(Customer.person_id == absorbed.id)
                              .values(person_id=person.id).execution_options(synchronize_session="fetch"))
        person.tags = list(dict.fromkeys([*person.tags, *absorbed.tags]))
        person.note = "\n\n".join(note for note in (person.note, absorbed.note) if note.strip())
        await session.execute(delete(Person).where(Person.id == absorbed.id))
    person.updated_at = now
    await session.flush()
    return person


async def detach(session: AsyncSession, customer: Customer, now: datetime) -> None:
    """The identity becomes a person of its own again; the tags and note stay with the others."""
    person = await person_of(session, customer)
    customer.person_id = None
    if person is not None:
        person.updated_at = now
    await session.flush()


async def search(session: AsyncSession, query: str, visible: ColumnElement[bool], *, stated: bool,
                 limit: int = 20) -> list[tuple[Customer, Account]]:
    """Customers of the visible accounts whose nickname contains `query`, whose platform id or
    unionid starts with it, or (with `stated`: the query is a phone or order number) who wrote
    it in one of their own messages; most recently seen first."""
    matches = [Customer.nickname.icontains(query, autoescape=True),
               Customer.external_id.startswith(query, autoescape=True),
               Customer.unionid == query]
    if stated:
        wrote_it = (select(Thread.customer_id).join(Message, Message.thread_id == Thread.id)
                    .where(Message.direction == "in", Message.author == "customer",
                           Message.text.contains(query, autoescape=True)))
        matches.append(Customer.id.in_(wrote_it))
    rows = await session.execute(select(Customer, Account).join(Account, Customer.account_id == Account.id)
                                 .where(or_(*matches), visible).order_by(Customer.last_seen.desc()).limit(limit))
    return [(customer, account) for customer, account in rows]


async def accounts_of(session: AsyncSession, customers: list[Customer]) -> dict[int, Account]:
    ids = {customer.account_id for customer in customers}
    return {account.id: account for account in
            (await session.execute(select(Account).where(Account.id.in_(ids)))).scalars()}


async def threads_of(session: AsyncSession, customer_ids: list[int]) -> list[Thread]:
    return list((await session.execute(select(Thread).where(Thread.customer_id.in_(customer_ids))
                                       .order_by(Thread.id))).scalars())


async def tickets_of(session: AsyncSession, customer_ids: list[int]) -> list[Ticket]:
    return list((await session.execute(select(Ticket).where(Ticket.customer_id.in_(customer_ids))
                                       .order_by(Ticket.id))).scalars())


async def ratings_of(session: AsyncSession, thread_ids: list[int]) -> list[CsatRating]:
    """The CSAT ratings the customer gave (requests never answered are left out)."""
    return list((await session.execute(select(CsatRating).where(CsatRating.thread_id.in_(thread_ids),
                                                                CsatRating.rating.is_not(None))
                                       .order_by(CsatRating.id))).scalars())


async def customer_texts(session: AsyncSession, thread_ids: list[int], *, intent: str | None = None,
                         limit: int = 500) -> list[Message]:
    """The customer's own text messages in the threads, newest first (only `intent`'s if given)."""
    query = select(Message).where(Message.thread_id.in_(thread_ids), Message.direction == "in",
                                  Message.author == "customer", Message.msg_type == "text")
    if intent is not None:
        query = query.where(Message.intent == intent)
    return list((await session.execute(query.order_by(Message.id.desc()).limit(limit))).scalars())


async def last_message_at(session: AsyncSession, thread_ids: list[int]) -> dict[int, datetime]:
    rows = await session.execute(select(Message.thread_id, func.max(Message.created_at))
                                 .where(Message.thread_id.in_(thread_ids)).group_by(Message.thread_id))
    return {thread_id: at for thread_id, at in rows}


# --- the unionid lookup (WeChat accounts bound to an open platform) ---

async def unionid_due(session: AsyncSession, now: datetime, limit: int) -> list[tuple[int, int, str, int]]:
    """(customer id, account id, openid, attempts so far) of WeChat customers of bound accounts whose unionid is
    still to be looked up, and due (not backing off, not leased by another process)."""
    rows = await session.execute(
        select(Customer.id, Customer.account_id, Customer.external_id, Customer.unionid_attempts)
        .join(Account, Customer.account_id == Account.id)
        .where(Account.platform == "wechat", Account.open_platform.is_(True), Customer.unionid_state.is_(None),
               or_(Customer.unionid_retry_at.is_(None), Customer.unionid_retry_at <= now))
        .order_by(Customer.id).limit(limit))
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def claim_unionid(session: AsyncSession, customer_id: int, now: datetime, lease: timedelta) -> bool:
    """Lease one lookup for this process (a conditional UPDATE: two processes never both win)."""
    result = await session.execute(
        update(Customer).where(Customer.id == customer_id, Customer.unionid_state.is_(None),
                               or_(Customer.unionid_retry_at.is_(None), Customer.unionid_retry_at <= now))
        .values(unionid_retry_at=now + lease, unionid_attempts=Customer.unionid_attempts + 1))
    return result.rowcount == 1


async def unionid_failed(session: AsyncSession, customer_id: int, *, retry_at: datetime | None) -> None:
    """A failed lookup: tried again at `retry_at`, or never again (None)."""
    values = {"unionid_retry_at": retry_at} if retry_at is not None else {"unionid_state": "failed"}
    await session.execute(update(Customer).where(Customer.id == customer_id).values(**values))


async def unionid_answered(session: AsyncSession, customer_id: int, unionid: str | None) -> Customer | None:
    """Store WeChat's answer (a unionid, or none); the customer (None if it is gone)."""
    customer = await session.get(Customer, customer_id, with_for_update=True)
    if customer is not None:
        customer.unionid, customer.unionid_state = unionid, "found" if unionid else "none"
        customer.unionid_retry_at = None
    return customer


async def first_with_unionid(session: AsyncSession, unionid: str, other_than: int) -> Customer | None:
    """The earliest other customer WeChat gave the same unionid."""
    return (await session.execute(select(Customer).where(Customer.unionid == unionid, Customer.id != other_than)
                                  .order_by(Customer.id).limit(1))).scalar_one_or_none()
