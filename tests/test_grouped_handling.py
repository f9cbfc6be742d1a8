"""Messages that arrive together are decided and stored together (real model, both databases)."""
import asyncio

from sqlalchemy import select

from bot.conversation.messages import InboundMessage
from bot.conversation.pipeline import Conversation
from bot.store.models import Customer, Message, Thread


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
