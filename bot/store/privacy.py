"""What is stored about customers, found from the schema itself: export it, erase it, purge old text.

PIPL requires that everything about a person can be handed over and erased. Rather than a hand-made
list of tables (which a new table would silently escape), the rows of a customer are found by walking
the foreign keys of the models: a table belongs to customers when one of its foreign keys points at
customers or at a table that does (threads, messages, tickets, outbox, misses, csat_ratings, ...).
`owned_tables()` is that walk; `ERASE` says, for every one of those tables, what an erase does to its
columns, and tests/test_privacy.py fails when a table is owned but has no entry. Each owned table's
rows are selected by nested sub-queries (never a list of ids), so a customer with many messages makes
no huge parameter lists.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, String, Table, and_, case, cast, delete, literal, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import AuditEntry, Base, Customer, FaqExample, FaqIntent, IntentExample, Miss, Person
from bot.store.tickets import OPEN_STATUSES

MARKER = "[已删除]"  # what erased and purged text reads as
ERASED_PREFIX = "erased:"  # an erased customer's external_id: the prefix and its row id (unique per account)
ROOT = "customers"
# audit_log entries name their record by entity + id, not by a foreign key: which entity is which table
AUDITED_ENTITIES = {"customer": "customers", "thread": "threads", "message": "messages", "ticket": "tickets",
                    "miss": "misses", "inbox": "inbox"}
# values under these keys of an audit entry about an erased record are free text (the rest is ids and states)
AUDIT_TEXT_KEYS = frozenset({"text", "note", "summary", "example", "tags", "nickname", "external_id", "unionid"})
MIN_CONTAINED = 4  # a shorter text ("1", "好") is redacted where it is a whole value, not inside others
ACTIVE_OUTBOUND = ("pending", "queued")  # outbound messages not yet out: an erase fails them, a purge waits
Value = Callable[[Table], Any]


def _marked_unless_empty(table: Table) -> Any:
    """Event rows have no text; an erase or a purge leaves them empty rather than marking them."""
    return case((table.c.text == "", ""), else_=MARKER)


# owned table -> column -> the value an erase writes (a callable builds it from the table: per-row values).
# An empty dict is a decision too: the table keeps nothing free-text or identifying (ids, times, states).
ERASE: dict[str, dict[str, Value]] = {
    "customers": {
        "external_id": lambda t: literal(ERASED_PREFIX) + cast(t.c.id, String),
        "nickname": lambda t: MARKER, "unionid": lambda t: null(), "unionid_state": lambda t: "none",
        "unionid_retry_at": lambda t: null(), "person_id": lambda t: null(),
        "unsubscribed": lambda t: True,  # nothing can be sent to an erased identity any more
    },
    "threads": {"clarify_options": lambda t: null()},
    "messages": {
        "text": _marked_unless_empty, "raw": lambda t: null(), "envelope": lambda t: null(),
        "dedupe_key": lambda t: null(), "error": lambda t: null(),
        # undecided inbound is never decided any more; replies not yet out are never sent
        "state": lambda t: case((t.c.state == "undecided", "handled"),
                                (t.c.state.in_(ACTIVE_OUTBOUND), "failed"), else_=t.c.state),
    },
    "tickets": {"summary": lambda t: MARKER},
    "inbox": {},
    "outbox": {
        "recipient": lambda t: MARKER, "payload": lambda t: {"text": MARKER}, "last_error": lambda t: null(),
        "state": lambda t: case((t.c.state == "queued", "failed"), else_=t.c.state),
    },
    "csat_ratings": {},
    "alert_members": {},  # ids and times: the alert keeps counting the complaint, anonymously
    "misses": {"text": lambda t: MARKER, "key": lambda t: MARKER,
               "status": lambda t: case((t.c.status == "open", "dismissed"), else_=t.c.status)},
}


# owned tables whose rows an erase deletes: derived from the texts (the radar's topic terms are words
# of them) and worth nothing without them
DELETED = frozenset({"radar_terms"})


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def owned_tables() -> dict[str, list[tuple[str, str]]]:
    """Every table whose rows belong to customers, in dependency order: name -> its (column,
    referenced owned table) links. A self-reference (a reply's message) adds no rows: its
    target is in the same thread."""
    owned: dict[str, list[tuple[str, str]]] = {ROOT: []}
    for table in Base.metadata.sorted_tables:  # referenced tables come before the tables referencing them
        links = [(fk.parent.name, fk.column.table.name) for fk in table.foreign_keys
                 if fk.column.table.name in owned and fk.column.table.name != table.name]
        if table.name != ROOT and links:
            owned[table.name] = links
    return owned


def _id_queries(customer_ids: list[int]) -> dict[str, Select]:
    """Per owned table, the sub-query of the ids of the customers' rows."""
    customers = _table(ROOT)
    queries: dict[str, Select] = {ROOT: select(customers.c.id).where(customers.c.id.in_(customer_ids))}
    for name, links in owned_tables().items():
        if name != ROOT:
            table = _table(name)
            queries[name] = select(table.c.id).where(or_(*(table.c[column].in_(queries[ref])
                                                           for column, ref in links)))
    return queries


def _audit_about(queries: dict[str, Select]) -> Any:
    """The condition for audit entries about any of the customers' records."""
    return or_(*(and_(AuditEntry.entity == entity,
                      AuditEntry.entity_id.in_(select(cast(queries[table].subquery().c.id, String))))
                 for entity, table in AUDITED_ENTITIES.items()))


def jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {column.name: jsonable(row._mapping[column]) for column in table.columns}


async def rows_of(session: AsyncSession, customer_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    """Every stored row about the customers: each owned table's, their people and accounts (the
    account's name and platform only: its credentials are the brand's), and the audit entries
    about their records; every column, by table, in id order."""
    queries = _id_queries(customer_ids)
    found: dict[str, list[dict[str, Any]]] = {}
    for name, ids in queries.items():
        table = _table(name)
        rows = await session.execute(select(table).where(table.c.id.in_(ids)).order_by(table.c.id))
        found[name] = [_row(table, row) for row in rows]
    people = _table("people")
    person_ids = select(Customer.person_id).where(Customer.id.in_(customer_ids))
    found["people"] = [_row(people, row) for row in
                       await session.execute(select(people).where(people.c.id.in_(person_ids)).order_by(people.c.id))]
    accounts = _table("accounts")
    account_ids = select(Customer.account_id).where(Customer.id.in_(customer_ids))
    found["accounts"] = [dict(row._mapping) for row in await session.execute(
        select(accounts.c.id, accounts.c.slug, accounts.c.platform, accounts.c.name)
        .where(accounts.c.id.in_(account_ids)).order_by(accounts.c.id))]
    audit = _table("audit_log")
    found["audit_log"] = [_row(audit, row) for row in await session.execute(
        select(audit).where(_audit_about(queries)).order_by(audit.c.id))]
    return found


async def existing(session: AsyncSession, customer_ids: list[int]) -> list[Customer]:
    return list((await session.execute(select(Customer).where(Customer.id.in_(customer_ids))
                                       .order_by(Customer.id).with_for_update())).scalars())


def is_erased(customer: Customer) -> bool:
    return customer.external_id.startswith(ERASED_PREFIX)


async def erase(session: AsyncSession, customer_ids: list[int]) -> dict[str, int]:
    """Erase the customers' free text and identities in the caller's transaction; how many rows of
    each table were changed. Tickets, threads and ratings stay as anonymous statistics.

    Order matters: the audit log and the training data are cleaned while the texts are still
    there to recognise, and the people once no identity points at them any more."""
    queries = _id_queries(customer_ids)
    secrets = await _identifying_strings(session, customer_ids, queries)
    counts = {"audit_log": await _redact_audit(session, _audit_about(queries), secrets),
              "training_examples": await _drop_labelled_examples(session, queries)}
    person_ids = list((await session.execute(select(Customer.person_id).where(
        Customer.id.in_(customer_ids), Customer.person_id.is_not(None)).distinct())).scalars())
    for name in owned_tables():
        if name in DELETED:
            table = _table(name)
            counts[name] = (await session.execute(delete(table).where(table.c.id.in_(queries[name])))).rowcount
            continue
        table, values = _table(name), ERASE[name]
        if values:
            result = await session.execute(update(table).where(table.c.id.in_(queries[name]))
                                           .values({column: value(table) for column, value in values.items()}))
            counts[name] = result.rowcount
    orphans = select(Person.id).where(Person.id.in_(person_ids), ~select(Customer.id).where(
        Customer.person_id == Person.id).exists())
    counts["people"] = (await session.execute(delete(Person).where(Person.id.in_(orphans)))).rowcount
    return counts


async def _identifying_strings(session: AsyncSession, customer_ids: list[int],
                               queries: dict[str, Select]) -> set[str]:
    """The customers' texts, names and platform ids: what must not stay in an audit entry."""
    messages, tickets = _table("messages"), _table("tickets")
    found: set[str] = set()
    for column, ids in ((messages.c.text, queries["messages"]), (tickets.c.summary, queries["tickets"])):
        found.update((await session.execute(select(column).where(column.table.c.id.in_(ids)))).scalars())
    for row in await session.execute(select(Customer.external_id, Customer.nickname, Customer.unionid, Person.note)
                                     .outerjoin(Person, Customer.person_id == Person.id)
                                     .where(Customer.id.in_(customer_ids))):
        found.update(value for value in row if value)
    return {text for text in found if text.strip()}


def _redacted(value: Any, secrets: set[str], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _redacted(v, secrets, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, secrets, key) for v in value]
    if isinstance(value, str) and (key in AUDIT_TEXT_KEYS or value in secrets or any(
            secret in value for secret in secrets if len(secret) >= MIN_CONTAINED)):
        return MARKER
    return value


async def _redact_audit(session: AsyncSession, about: Any, secrets: set[str]) -> int:
    """Free text in the audit entries matching `about` (entries about the erased customers' or
    the purged records) becomes the marker; who did what to which record, and when, stays."""
    changed = 0
    for entry in (await session.execute(select(AuditEntry).where(about))).scalars():
        before, after = _redacted(entry.before, secrets), _redacted(entry.after, secrets)
        if (before, after) != (entry.before, entry.after):
            entry.before, entry.after = before, after
            changed += 1
    await session.flush()
    return changed


async def _drop_labelled_examples(session: AsyncSession, queries: dict[str, Select]) -> int:
    """A labelled miss copied the customer's text into the training data: take it out again."""
    dropped = 0
    labelled = await session.execute(select(Miss.label, Miss.text).where(
        Miss.id.in_(queries["misses"]), Miss.status == "labelled", Miss.label.is_not(None)))
    for label, text in labelled:
        faq_ids = select(FaqIntent.id).where(FaqIntent.name == label)
        for statement in (delete(FaqExample).where(FaqExample.intent_id.in_(faq_ids), FaqExample.text == text),
                          delete(IntentExample).where(IntentExample.intent == label, IntentExample.text == text)):
            dropped += (await session.execute(statement)).rowcount
    return dropped


# --- retention: text older than N days, in short batches ---

async def _due(session: AsyncSession, table: Table, condition: Any, *, after_id: int, limit: int) -> list[int]:
    """Up to `limit` ids above `after_id` of the rows to purge, locked for this transaction. Rows
    another server's purge (or the service) holds are skipped, not waited for (PostgreSQL; SQLite
    has one writer at a time anyway): concurrent purges share the work and never queue behind
    each other or behind a webhook. A skipped row is reached by a later run."""
    return list((await session.execute(
        select(table.c.id).where(table.c.id > after_id, condition).order_by(table.c.id).limit(limit)
        .with_for_update(skip_locked=True))).scalars())


def _audit_of(entity: str, ids: Any) -> Any:
    return and_(AuditEntry.entity == entity, AuditEntry.entity_id.in_(ids))


async def purge_messages(session: AsyncSession, cutoff: datetime, *, after_id: int, limit: int) -> list[int]:
    """Purge the text of up to `limit` messages created before `cutoff` (ids above `after_id`)
    and of its copies (the miss, the outbox item, the text in the audit entries of the reply,
    the note and the labelled miss) and the radar's topic terms taken from it (kept otherwise
    for the radar's trailing 7 days, which a shorter retention must cut); the ids purged,
    ascending. Messages still in flight (undecided, or a reply not yet out) wait for a later run."""
    messages, misses, outbox = _table("messages"), _table("misses"), _table("outbox")
    ids = await _due(session, messages, and_(
        messages.c.created_at < cutoff, messages.c.state.not_in(("undecided", *ACTIVE_OUTBOUND)),
        or_(and_(messages.c.text != "", messages.c.text != MARKER),
            messages.c.raw.is_not(None), messages.c.envelope.is_not(None))), after_id=after_id, limit=limit)
    if not ids:
        return []
    await session.execute(update(messages).where(messages.c.id.in_(ids)).values(
        text=_marked_unless_empty(messages), raw=null(), envelope=null()))
    await session.execute(update(misses).where(misses.c.message_id.in_(ids)).values(text=MARKER, key=MARKER))
    terms = _table("radar_terms")
    await session.execute(delete(terms).where(terms.c.message_id.in_(ids)))
    await session.execute(update(outbox).where(outbox.c.message_id.in_(ids), outbox.c.state.in_(("sent", "failed")))
                          .values(payload={"text": MARKER}))
    miss_ids = select(cast(misses.c.id, String)).where(misses.c.message_id.in_(ids))
    await _redact_audit(session, or_(_audit_of("message", [str(i) for i in ids]), _audit_of("miss", miss_ids)),
                        set())
    return ids


async def purge_tickets(session: AsyncSession, cutoff: datetime, *, after_id: int, limit: int) -> list[int]:
    """Purge the summary (the complaint's text) of up to `limit` tickets created before `cutoff`
    and no longer open (their audit entries hold no text); the ids purged, ascending. An open
    ticket keeps its summary while agents work on it (its messages are purged all the same)."""
    tickets = _table("tickets")
    ids = await _due(session, tickets, and_(tickets.c.created_at < cutoff, tickets.c.status.not_in(OPEN_STATUSES),
                                            tickets.c.summary.not_in(("", MARKER))), after_id=after_id, limit=limit)
    if ids:
        await session.execute(update(tickets).where(tickets.c.id.in_(ids)).values(summary=MARKER))
    return ids
