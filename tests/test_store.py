"""Storage on both databases: migrations, ticket numbers, the inbox queue, FAQ edits."""
import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect, select

from bot.store import accounts, faq, inbox, threads, tickets
from bot.store.db import Database
from bot.store.faq import FaqRecord
from bot.store.models import IntentExample, Ticket

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai

TABLES = {"accounts", "customers", "threads", "messages", "tickets", "ticket_counters", "inbox", "agents",
          "faq_intents", "faq_examples", "faq_answers", "nlu_models", "outbox", "audit_log",
          "platform_tokens", "alembic_version"}


async def fresh(url: str) -> Database:
    db = Database(url)
    await db.migrate()
    await db.migrate()  # idempotent: a second upgrade is a no-op
    return db


async def test_migrations_create_every_table(database_url: str):
    db = await fresh(database_url)
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    await db.dispose()
    assert TABLES <= names


async def new_thread(db: Database, sender: str):
    async with db.uow() as session:
        account = await accounts.ensure(session, "console", "console")
        thread = await threads.ensure_thread(session, account, sender, NOW)
        return thread.id, thread.customer_id


async def test_ticket_numbers_are_unique_and_readable_under_concurrency(database_url: str):
    db = await fresh(database_url)
    thread_id, customer_id = await new_thread(db, "u1")

    async def one() -> str:
        for attempt in range(20):
            try:
                async with db.uow() as session:
                    ticket = await tickets.create(session, thread_id=thread_id, customer_id=customer_id,
                                                  priority="high", summary="坏了", now=NOW,
                                                  timezone="Asia/Shanghai")
                    return ticket.number
            except Exception:  # SQLite "database is locked" under a write storm: retry
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("no ticket")

    numbers = await asyncio.gather(*(one() for _ in range(12)))
    await db.dispose()
    assert sorted(numbers) == [f"T20261121-{i:04d}" for i in range(1, 13)]


async def test_inbox_orders_by_priority_then_age(database_url: str):
    db = await fresh(database_url)
    ids = [await new_thread(db, f"u{i}") for i in range(3)]
    async with db.uow() as session:
        a = await inbox.enqueue(session, thread_id=ids[0][0], reason="requested_human", priority="normal", now=NOW)
        b = await inbox.enqueue(session, thread_id=ids[1][0], reason="requested_human", priority="normal",
                                now=NOW + timedelta(minutes=1))
        c = await inbox.enqueue(session, thread_id=ids[2][0], reason="complaint", priority="urgent",
                                now=NOW + timedelta(minutes=2))
        assert [await inbox.position(session, x) for x in (a, b, c)] == [2, 3, 1]
        again = await inbox.enqueue(session, thread_id=ids[0][0], reason="complaint", priority="high", now=NOW)
        assert again.id == a.id and again.priority == "high"  # one open item per thread
    await db.dispose()


async def test_faq_upsert_and_replace(database_url: str):
    db = await fresh(database_url)
    one = FaqRecord("faq/a", "A?", ("a1", "a2"), "答案A")
    two = FaqRecord("faq/b", "B?", ("b1",), "答案B")
    async with db.uow() as session:
        assert await faq.upsert(session, [one, two], replace=False) == {"added": 2, "updated": 0, "removed": 0}
    async with db.uow() as session:  # the same examples again, plus one
        assert (await faq.upsert(session, [FaqRecord("faq/a", "A?", ("a2", "a1", "a3"), "答案A")],
                                 replace=False))["updated"] == 1
    async with db.uow() as session:
        counts = await faq.upsert(session, [FaqRecord("faq/a", "A?", ("a3",), "新答案")], replace=True)
    assert counts == {"added": 0, "updated": 1, "removed": 1}
    async with db.sessions() as session:
        assert await faq.records(session) == [FaqRecord("faq/a", "A?", ("a3",), "新答案")]
        assert await faq.answer(session, "faq/a") == "新答案"
    await db.dispose()


async def test_times_come_back_as_utc(database_url: str):
    db = await fresh(database_url)
    thread_id, customer_id = await new_thread(db, "u1")
    async with db.uow() as session:
        await tickets.create(session, thread_id=thread_id, customer_id=customer_id, priority="high",
                             summary="x", now=NOW, timezone="Asia/Shanghai")
    async with db.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    await db.dispose()
    assert ticket.created_at == NOW and ticket.created_at.tzinfo is not None


async def test_training_digest_follows_every_example_and_answer_the_model_learns(database_url: str):
    """The admin pages' out-of-date banner is keyed on this digest: an example an admin adds
    to a conversation intent (labelling a miss) is training data as much as an FAQ example, and
    so is an FAQ's answer (the classifier reads its words)."""
    db = await fresh(database_url)
    digests = []
    for change in (lambda session: faq.upsert(session, [FaqRecord("faq/a", "A?", ("a1",), "答案A")], replace=False),
                   lambda session: faq.upsert(session, [FaqRecord("faq/a", "A?", ("a1",), "新卡支持闪付")], replace=False),
                   lambda session: _add(session, IntentExample(intent="out_of_scope", text="明天会下雨吗", added_by="root"))):
        async with db.uow() as session:
            await change(session)
        async with db.sessions() as session:
            digests.append(await faq.training_digest(session))
    await db.dispose()
    assert len(set(digests)) == 3


async def _add(session, row) -> None:
    session.add(row)


class _Abandon(Exception):
    """Raised to end a unit of work with an error after its savepoint."""


async def test_an_error_after_a_savepoint_rolls_back_the_whole_unit_of_work(database_url: str):
    """A savepoint (begin_nested) inside a unit of work is nested in its transaction: what came
    before it is not committed by it, whether the savepoint is released or rolled back, so an
    error later in the unit of work leaves nothing stored (pysqlite's own transaction handling
    used to commit at the savepoint on SQLite)."""
    db = await fresh(database_url)
    async with db.uow() as session:
        await accounts.add(session, platform="console", slug="taken", name="", app_id=None, sealed={})
    for nested_slug in ("fresh", "taken"):  # a savepoint that is released, one that is rolled back
        try:
            async with db.uow() as session:
                await accounts.ensure(session, "console", f"before-{nested_slug}")  # row A
                try:
                    await accounts.add(session, platform="console", slug=nested_slug, name="", app_id=None,
                                       sealed={})
                except accounts.AccountExists:
                    pass
                await accounts.ensure(session, "console", f"after-{nested_slug}")
                raise _Abandon
        except _Abandon:
            pass
    async with db.sessions() as session:
        slugs = [a.slug for a in await accounts.all_accounts(session)]
    await db.dispose()
    assert slugs == ["taken"]
