"""The crisis radar's rows: complaints' topic terms, alerts and their members (bot/desk/radar.py
decides; this module only reads and writes).

Several servers scan at once. A scan holds a transaction-scoped advisory lock on PostgreSQL
(SQLite has one writer anyway), and the schema enforces the rest whatever happens: one open
alert per scope and topic (`alerts.open_key` unique) and one alert per complaint
(`alert_members.message_id` unique, inserted with ON CONFLICT DO NOTHING).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, distinct, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Account, Alert, AlertMember, Customer, Message, RadarTerm, Thread, Ticket

# who a complaint is from, as one integer: linked identities share their person's id; a customer
# linked to nobody is a person of its own (its id, negated so it never meets a person's id)
PERSON = func.coalesce(Customer.person_id, -Customer.id)
SCAN_LOCK = 0x7261646172  # "radar": the advisory lock key that makes scans take turns (PostgreSQL)
# a complaint: the bot opened a ticket for it, or understood it as one while people held the thread
IS_COMPLAINT = or_(Message.action == "open_ticket", Message.intent == "complain")


@dataclass(frozen=True)
class Complaint:
    message_id: int
    text: str
    ranking: list[Any] | None
    thread_id: int
    account_id: int
    at: datetime


@dataclass(frozen=True)
class Termed:
    """One term of one complaint not in any alert yet, and who it is from (`PERSON`)."""

    message_id: int
    term: str
    thread_id: int
    account_id: int
    at: datetime
    person: int


@dataclass(frozen=True)
class MemberRow:
    """A member complaint as the alerts page and API show it."""

    alert_id: int
    message_id: int
    thread_id: int
    account: str
    platform: str
    customer: str
    text: str
    at: datetime
    ticket_id: int | None
    ticket: str | None
    notified_at: datetime | None


def _dialect(session: AsyncSession) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


async def take_scan_turn(session: AsyncSession) -> None:
    """Wait until no other server's scan is running (released when this transaction ends)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(SCAN_LOCK)))


async def unmarked_complaints(session: AsyncSession, since: datetime, until: datetime,
                              limit: int) -> list[Complaint]:
    """Complaints received in (since, until] whose terms are not stored yet, newest first."""
    rows = await session.execute(
        select(Message.id, Message.text, Message.ranking, Message.thread_id, Thread.account_id, Message.created_at)
        .join(Thread, Thread.id == Message.thread_id)
        .where(Message.state == "handled", Message.created_at > since, Message.created_at <= until,
               Message.direction == "in", IS_COMPLAINT,
               ~exists().where(RadarTerm.message_id == Message.id))
        .order_by(Message.created_at.desc()).limit(limit))
    return [Complaint(*row) for row in rows]


async def store_terms(session: AsyncSession, terms: list[tuple[Complaint, list[str]]]) -> None:
    """Each complaint's terms ("" for none); a row another scan stored meanwhile is kept."""
    values = [{"message_id": c.message_id, "term": term, "account_id": c.account_id, "thread_id": c.thread_id,
               "at": c.at} for c, found in terms for term in (found or [""])]
    if values:
        await session.execute(_dialect(session).insert(RadarTerm).on_conflict_do_nothing(), values)


async def forget_terms(session: AsyncSession, until: datetime) -> None:
    """Drop the terms of complaints received up to `until`: older than the trailing rate's days,
    nothing reads them any more (the table stays small, and words taken from consumers' texts
    are kept no longer than the radar needs them)."""
    await session.execute(delete(RadarTerm).where(RadarTerm.at <= until))


async def unassigned_terms(session: AsyncSession, since: datetime, until: datetime) -> list[Termed]:
    """Terms of complaints received in (since, until] that belong to no alert yet."""
    rows = await session.execute(
        select(RadarTerm.message_id, RadarTerm.term, RadarTerm.thread_id, RadarTerm.account_id, RadarTerm.at, PERSON)
        .join(Thread, Thread.id == RadarTerm.thread_id).join(Customer, Customer.id == Thread.customer_id)
        .where(RadarTerm.at > since, RadarTerm.at <= until, RadarTerm.term != "",
               ~exists().where(AlertMember.message_id == RadarTerm.message_id))
        .order_by(RadarTerm.at, RadarTerm.message_id))
    return [Termed(*row) for row in rows]


async def term_count(session: AsyncSession, term: str, since: datetime, until: datetime,
                     account_id: int | None) -> int:
    """Customers (people) who complained with `term` in (since, until] (on one account, or on
    all: None)."""
    query = (select(func.count(distinct(PERSON))).select_from(RadarTerm)
             .join(Thread, Thread.id == RadarTerm.thread_id).join(Customer, Customer.id == Thread.customer_id)
             .where(RadarTerm.term == term, RadarTerm.at > since, RadarTerm.at <= until))
    if account_id is not None:
        query = query.where(RadarTerm.account_id == account_id)
    return (await session.execute(query)).scalar_one()


async def open_alerts(session: AsyncSession) -> list[Alert]:
    rows = await session.execute(select(Alert).where(Alert.status == "open").order_by(Alert.id))
    return list(rows.scalars())


async def by_open_key(session: AsyncSession, open_key: str) -> Alert | None:
    return (await session.execute(select(Alert).where(Alert.open_key == open_key))).scalar_one_or_none()


async def create(session: AsyncSession, alert: Alert) -> bool:
    """Add the alert; False (and nothing added) when its scope and topic have an open one already
    (another server's scan opened it a moment ago)."""
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def add_members(session: AsyncSession, alert: Alert, members: list[Termed]) -> int:
    """Add complaints to the alert (those in another alert already are left there), with the
    ticket each opened, and bring its count, times and accounts up to date; returns how many
    joined."""
    values = [{"alert_id": alert.id, "message_id": m.message_id, "thread_id": m.thread_id,
               "account_id": m.account_id, "at": m.at} for m in members]
    if not values:
        return 0
    inserted = await session.execute(_dialect(session).insert(AlertMember).on_conflict_do_nothing()
                                     .returning(AlertMember.id), values)
    joined = len(list(inserted.scalars()))
    # the ticket a complaint opened was created in the complaint's own transaction, at its time
    await session.execute(update(AlertMember).where(AlertMember.alert_id == alert.id, AlertMember.ticket_id.is_(None))
                          .values(ticket_id=select(Ticket.id).where(Ticket.thread_id == AlertMember.thread_id,
                                                                    Ticket.created_at == AlertMember.at)
                                  .limit(1).scalar_subquery()))
    count, first_at, last_at = (await session.execute(
        select(func.count(), func.min(AlertMember.at), func.max(AlertMember.at))
        .where(AlertMember.alert_id == alert.id))).one()
    accounts = (await session.execute(select(AlertMember.account_id).distinct()
                                      .where(AlertMember.alert_id == alert.id))).scalars()
    alert.count, alert.first_at, alert.last_at, alert.account_ids = count, first_at, last_at, sorted(accounts)
    await session.flush()
    return joined


async def locked(session: AsyncSession, alert_id: int) -> Alert | None:
    """The alert, its row locked for this unit of work (one notify or close at a time)."""
    return (await session.execute(select(Alert).where(Alert.id == alert_id).with_for_update())).scalar_one_or_none()


async def listed(session: AsyncSession, status: str | None, limit: int = 200) -> list[Alert]:
    """Alerts of a status (None: all), the latest activity first."""
    query = select(Alert).order_by(Alert.last_at.desc(), Alert.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Alert.status == status)
    return list((await session.execute(query)).scalars())


async def members(session: AsyncSession, alert_ids: list[int]) -> list[MemberRow]:
    """The alerts' complaints with their account, customer, text and ticket, in order of arrival."""
    if not alert_ids:
        return []
    rows = await session.execute(
        select(AlertMember.alert_id, AlertMember.message_id, AlertMember.thread_id, Account.slug, Account.platform,
               func.coalesce(Customer.nickname, Customer.external_id), Message.text, AlertMember.at,
               AlertMember.ticket_id, Ticket.number, AlertMember.notified_at)
        .join(Account, Account.id == AlertMember.account_id)
        .join(Thread, Thread.id == AlertMember.thread_id)
        .join(Customer, Customer.id == Thread.customer_id)
        .join(Message, Message.id == AlertMember.message_id)
        .outerjoin(Ticket, Ticket.id == AlertMember.ticket_id)
        .where(AlertMember.alert_id.in_(alert_ids))
        .order_by(AlertMember.at, AlertMember.id))
    return [MemberRow(*row) for row in rows]


async def account_slugs(session: AsyncSession, account_ids: list[int]) -> dict[int, tuple[str, str]]:
    """account id -> (slug, platform)."""
    if not account_ids:
        return {}
    rows = await session.execute(select(Account.id, Account.slug, Account.platform)
                                 .where(Account.id.in_(account_ids)))
    return {account_id: (slug, platform) for account_id, slug, platform in rows}


@dataclass(frozen=True)
class MemberThread:
    """A member thread and who it is from (`PERSON`: the same for linked identities, so a
    consumer who complained on two channels is told once)."""

    thread_id: int
    person: int
    notified: bool


async def member_threads(session: AsyncSession, alert_id: int) -> list[MemberThread]:
    """The alert's threads, by id, with their person and whether the statement was queued there."""
    rows = await session.execute(
        select(AlertMember.thread_id, PERSON, func.max(AlertMember.notified_at))
        .join(Thread, Thread.id == AlertMember.thread_id).join(Customer, Customer.id == Thread.customer_id)
        .where(AlertMember.alert_id == alert_id).group_by(AlertMember.thread_id, Customer.id)
        .order_by(AlertMember.thread_id))
    return [MemberThread(thread_id, person, notified is not None) for thread_id, person, notified in rows]


async def mark_notified(session: AsyncSession, alert_id: int, thread_ids: list[int], now: datetime) -> None:
    if thread_ids:
        await session.execute(update(AlertMember).where(AlertMember.alert_id == alert_id,
                                                        AlertMember.thread_id.in_(thread_ids))
                              .values(notified_at=now))
