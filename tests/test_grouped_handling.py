"""Messages that arrive together are decided and stored together (real model, both databases)."""
import asyncio
import logging
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select

from bot.conversation.messages import InboundMessage
from bot.conversation.pipeline import Conversation
from bot.nlu.pool import NluPool
from bot.runtime import database
from bot.store.models import Customer, Message, Thread
from devkit.postgres import create_pg_database
from tests.conftest import make_settings


def msg(text: str, sender: str, key: str) -> InboundMessage:
    return InboundMessage(platform="console", account="console", sender=sender, text=text, dedupe_key=key)


async def test_a_burst_is_stored_whole_answered_once_and_in_order_per_customer(conversation: Conversation):
    senders = [f"g{i}" for i in range(12)]
    first = await asyncio.gather(*(conversation.handle(msg("你好", s, f"hi-{s}")) for s in senders),
                                 conversation.handle(msg("转人工", "person", "hi-person")))
    assert [o.action for o in first] == ["smalltalk"] * 12 + ["handoff"]

    burst = [msg("退款多久到账", s, f"refund-{s}") for s in senders]
    burst += [msg("怎么开发票", "g0", "invoice-g0"), msg("退款多久到账", "person", "refund-person")]
    outcomes = await asyncio.gather(*(conversation.handle(m) for m in burst))
    assert [o.action for o in outcomes] == ["answer_faq"] * 13 + ["append"]  # a person's thread: no answer
    assert all(len(o.replies) == 1 and o.reply_states == ["pending"] for o in outcomes[:13])
    assert outcomes[0].intent == "faq/refund_time" and outcomes[12].intent != outcomes[0].intent

    retries = await asyncio.gather(*(conversation.handle(m) for m in burst[:3]))
    assert all(r.duplicate and r.replies == o.replies and r.reply_ids == o.reply_ids
               for r, o in zip(retries, outcomes))

    async with conversation.db.sessions() as session:
        rows = list((await session.execute(select(Message).order_by(Message.id))).scalars())
        threads = {t.id: t for t in (await session.execute(select(Thread))).scalars()}
        customers = list((await session.execute(select(Customer))).scalars())
    inbound = [m for m in rows if m.direction == "in"]
    assert len(inbound) == len(burst) + len(first)  # every message once, retries not again
    assert len({m.dedupe_key for m in inbound}) == len(inbound)
    by_id = {m.id: m for m in rows}
    for reply in (m for m in rows if m.direction == "out"):
        assert by_id[reply.reply_to_id].direction == "in" and reply.thread_id == by_id[reply.reply_to_id].thread_id
    answered = [m for m in inbound if m.action == "answer_faq"]
    assert all(m.state == "handled" and m.intent and m.ranking for m in answered)
    g0 = [m.text for m in inbound if m.dedupe_key and m.dedupe_key.endswith("-g0")]
    assert g0 == ["你好", "退款多久到账", "怎么开发票"]  # one customer's messages in the order sent
    latest = {m.thread_id: m for m in inbound}  # each thread's last inbound message
    seen = {c.id: c.last_seen for c in customers}
    for thread_id, message in latest.items():
        thread = threads[thread_id]
        assert thread.last_inbound_at == message.created_at == seen[thread.customer_id]
        assert thread.owner == ("queue" if message.action == "append" else "bot") and thread.misunderstandings == 0


async def test_first_time_senders_of_a_burst_get_one_customer_and_one_thread_each(conversation: Conversation):
    await conversation.handle(msg("你好", "regular", "hi-regular"))  # the account exists from here on
    senders = [f"new{i}" for i in range(20)]
    burst = [msg("退款多久到账", s, f"first-{s}") for s in senders]
    # a first-time sender's second message and a retry of another's first, in the same burst
    burst += [msg("怎么开发票", "new0", "second-new0"), msg("退款多久到账", "new1", "first-new1")]
    outcomes = await asyncio.gather(*(conversation.handle(m) for m in burst))
    assert [o.action for o in outcomes] == ["answer_faq"] * len(burst)
    assert [o.intent for o in outcomes[:2]] == ["faq/refund_time"] * 2 and outcomes[20].intent == "faq/invoice"
    assert outcomes[21].duplicate and outcomes[21].reply_ids == outcomes[1].reply_ids

    async with conversation.db.sessions() as session:
        customers = {c.external_id: c for c in (await session.execute(select(Customer))).scalars()}
        threads = list((await session.execute(select(Thread))).scalars())
        inbound = list((await session.execute(select(Message).where(Message.direction == "in")
                                               .order_by(Message.id))).scalars())
    assert sorted(customers) == sorted([*senders, "regular"])
    account_id = customers["regular"].account_id
    assert all(c.account_id == account_id and c.platform == "console" and c.first_seen <= c.last_seen
               for c in customers.values())
    assert sorted(t.customer_id for t in threads) == sorted(c.id for c in customers.values())  # one each
    assert all(t.owner == "bot" and t.account_id == account_id and t.last_inbound_at for t in threads)
    assert len(inbound) == len(burst)  # the retry was not stored again
    new0 = [m.text for m in inbound if m.thread_id == next(t.id for t in threads
                                                           if t.customer_id == customers["new0"].id)]
    assert new0 == ["退款多久到账", "怎么开发票"]


async def test_a_group_that_loses_a_race_to_another_process_is_handled_one_by_one(
        nlu_pool: NluPool, postgres_server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """Two servers on one PostgreSQL receive the same push (a WeChat retry) in groups with other
    messages. The group that commits second finds the dedupe key taken: it is rolled back whole,
    then each of its messages is handled alone; nothing is lost or answered twice."""
    url = await create_pg_database(postgres_server)
    settings = make_settings(tmp_path, url, CAREBOT_BUSINESS_HOURS="00:00-23:59")
    senders = ["r1", "r2", "r3", "r4", "r5"]
    async with database(settings) as db_a, database(settings) as db_b:
        first, second = Conversation(db_a, nlu_pool.parse, settings), Conversation(db_b, nlu_pool.parse, settings)
        for sender in senders:  # the customers and their threads exist (ids in this order)
            await first.handle(msg("你好", sender, f"hi-{sender}"))
        async with db_a.sessions() as session:
            r1_thread = (await session.execute(select(Thread.id).join(Customer).where(
                Customer.external_id == "r1"))).scalar_one()

        holder = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            blocked = holder.transaction()
            await blocked.start()
            await holder.execute("SELECT id FROM threads WHERE id = $1 FOR UPDATE", r1_thread)
            retried = msg("退款多久到账", "r1", "refund-r1")
            group_a = asyncio.gather(*(first.handle(m) for m in (
                retried, msg("怎么开发票", "r2", "invoice-r2"), msg("怎么开发票", "r3", "invoice-r3"))))
            await _until_waiting_for_locks(holder, 1)  # the first server's group waits for r1's thread
            group_b = asyncio.gather(*(second.handle(m) for m in (
                msg("退款多久到账", "r1", "refund-r1"), msg("运费怎么算", "r4", "fee-r4"),
                msg("运费怎么算", "r5", "fee-r5"))))
            await _until_waiting_for_locks(holder, 2)  # and so does the second's, behind it
            with caplog.at_level(logging.INFO, logger="bot.conversation.pipeline"):
                await blocked.commit()
                outcomes_a, outcomes_b = await asyncio.wait_for(asyncio.gather(group_a, group_b), 60)
        finally:
            await holder.close()

        assert "rolled back" in caplog.text  # the second group did meet the conflict
        assert [o.action for o in outcomes_a + outcomes_b] == ["answer_faq"] * 6
        assert not any(o.duplicate for o in outcomes_a)
        assert outcomes_b[0].duplicate and outcomes_b[0].reply_ids == outcomes_a[0].reply_ids
        assert not outcomes_b[1].duplicate and not outcomes_b[2].duplicate
        async with db_a.sessions() as session:
            inbound = list((await session.execute(select(Message).where(Message.direction == "in"))).scalars())
            replies = list((await session.execute(select(Message).where(Message.direction == "out"))).scalars())
    keys = [m.dedupe_key for m in inbound]
    assert sorted(keys) == sorted({*keys}) and len(keys) == len(senders) + 5  # each push stored once
    answered = {m.reply_to_id for m in replies}
    assert all(m.id in answered for m in inbound)
    assert sum(1 for r in replies if r.reply_to_id == next(m.id for m in inbound if m.dedupe_key == "refund-r1")) == 1


async def _until_waiting_for_locks(connection: asyncpg.Connection, count: int) -> None:
    for _ in range(300):
        waiting = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
        if waiting >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} transactions came to wait for the locked thread")


async def test_the_bulk_path_stores_what_the_full_unit_of_work_stores(nlu_pool: NluPool, tmp_path: Path):
    """An FAQ answered in a group takes the bulk path (`_answer_faqs`); after a group rollback the
    same message takes the full unit of work (`_handle_alone`). Both must leave the same rows,
    or a change to one (a new column, an action with a side effect) silently splits them."""
    stored = []
    for name in ("bulk", "alone"):
        settings = make_settings(tmp_path / name, f"sqlite+aiosqlite:///{tmp_path / name / 'db.sqlite3'}",
                                 CAREBOT_BUSINESS_HOURS="00:00-23:59")
        async with database(settings) as db:
            conversation = Conversation(db, nlu_pool.parse, settings)
            await conversation.handle(msg("你好", "c1", "hi-c1"))
            async with db.uow() as session:  # a clarify menu was open: an answer closes it
                thread = (await session.execute(select(Thread))).scalar_one()
                thread.misunderstandings, thread.clarify_options = 1, ["faq/invoice", "faq/coupon"]
                thread.window_used, thread.last_inbound_public = 3, True
            question = msg("退款多久到账", "c1", "refund-c1")
            if name == "bulk":
                outcome = await conversation.handle(question)
            else:  # what a message of a group that rolled back goes through
                text = conversation.prepare(question.text)
                parse = (await nlu_pool.parse([text]))[0]
                outcome = await conversation._handle_alone(question, text, parse, dry_run=False, passive_until=None)
            async with db.sessions() as session:
                thread = (await session.execute(select(Thread))).scalar_one()
                customer = (await session.execute(select(Customer))).scalar_one()
                rows = list((await session.execute(select(Message).order_by(Message.id))).scalars())
            stored.append({
                "outcome": (outcome.action, outcome.intent, outcome.confidence, outcome.replies, outcome.owner,
                            outcome.reply_states, outcome.duplicate),
                "thread": (thread.owner, thread.misunderstandings, thread.clarify_options, thread.window_used,
                           thread.last_inbound_public, thread.last_inbound_at == rows[-2].created_at,
                           thread.updated_at == rows[-2].created_at),
                "customer_seen": customer.last_seen == rows[-2].created_at,
                "messages": [(m.direction, m.author, m.msg_type, m.text, m.dedupe_key, m.state, m.action, m.intent,
                              m.confidence, m.ranking, m.error, m.reply_to_id) for m in rows],
            })
    bulk, alone = stored
    assert bulk["outcome"][0] == "answer_faq" and bulk["thread"][:4] == ("bot", 0, None, 0)
    assert bulk == alone
