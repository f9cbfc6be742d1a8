"""CSAT: the rating asked for on resolve, taken from the customer's next message without NLU."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from actions.csat import rating_of
from bot.conversation.messages import InboundMessage
from bot.conversation.pipeline import Conversation
from bot.desk.access import Viewer
from bot.desk.ticketing import after_resolve
from bot.store.models import CsatRating, Message, OutboxItem, Thread, Ticket

LEAD = Viewer(0, "lead", "组长", "admin", None)


@pytest.mark.parametrize("text, rating", [
    ("5", 5), ("５", 5), (" 4 ", 4), ("5分", 5), ("五星", 5), ("三分", 3), ("打5分", 5), ("给五星", 5), ("1星", 1),
    ("两分", 2), ("⭐⭐⭐⭐", 4), ("5分！", 5), ("我打4分吧", 4),
    ("6", None), ("0", None), ("15", None), ("5分钟后再说", None), ("退款", None), ("", None), ("五星好评返现吗", None),
])
def test_what_counts_as_a_rating(text: str, rating):
    assert rating_of(text) == rating


def msg(text: str, sender: str = "c1") -> InboundMessage:
    return InboundMessage(platform="console", account="console", sender=sender, text=text)


async def resolve(conversation: Conversation, sender: str, **options) -> CsatRating | None:
    """What an agent's resolve does to the thread (part A's handling.resolve calls after_resolve)."""
    async with conversation.db.uow() as session:
        thread = (await session.execute(select(Thread).join(Thread.customer)
                                        .where(Thread.customer.has(external_id=sender)))).scalar_one()
        thread.owner, thread.agent_id = "bot", None
        return await after_resolve(session, conversation.settings, LEAD, thread, datetime.now(timezone.utc), **options)


async def test_rating_after_resolve_is_stored_not_understood(conversation: Conversation):
    out = await conversation.handle(msg("收到的衣服是破的，质量太差了，我要投诉"))
    assert out.action == "open_ticket"
    request = await resolve(conversation, "c1")
    assert request is not None
    async with conversation.db.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        ask = (await session.execute(select(Message).where(Message.action == "csat_request"))).scalar_one()
        queued = (await session.execute(select(OutboxItem).where(OutboxItem.message_id == ask.id))).scalar_one()
    assert ticket.status == "resolved" and ticket.resolved_at is not None
    assert request.ticket_id == ticket.id and "1-5" in ask.text and queued.state == "queued"

    calls: list[list[str]] = []

    async def spy(texts: list[str]):  # the NLU must not see a rating
        calls.append(texts)
        return await conversation.understand(texts)

    watched = Conversation(conversation.db, spy, conversation.settings)
    out = await watched.handle(msg("五星"))
    assert out.action == "csat" and "感谢您的评价" in out.replies[0] and calls == []
    out = await watched.handle(msg("5"))  # the request is answered: now "5" is just a message
    assert out.action != "csat" and calls == [["5"]]
    async with conversation.db.sessions() as session:
        stored = (await session.execute(select(CsatRating))).scalar_one()
        inbound = (await session.execute(select(Message).where(Message.text == "五星"))).scalar_one()
    assert (stored.rating, stored.message_id, stored.ticket_id) == (5, inbound.id, ticket.id)
    assert inbound.intent is None and inbound.action == "csat"


async def test_anything_else_clears_the_request_and_is_answered(conversation: Conversation):
    await conversation.handle(msg("转人工", sender="c2"))
    assert await resolve(conversation, "c2") is not None
    out = await conversation.handle(msg("运费多少钱", sender="c2"))
    assert out.action == "answer_faq"
    out = await conversation.handle(msg("1分", sender="c2"))
    assert out.action != "csat"  # too late: the request was cleared by the question
    async with conversation.db.sessions() as session:
        stored = (await session.execute(select(CsatRating))).scalar_one()
        thread = (await session.execute(select(Thread))).scalar_one()
    assert stored.rating is None and thread.csat_request_id is None


async def test_no_request_when_turned_off_or_the_window_is_closed(conversation: Conversation):
    await conversation.handle(msg("转人工", sender="c3"))
    assert await resolve(conversation, "c3", ask_rating=False) is None
    async with conversation.db.uow() as session:
        thread = (await session.execute(select(Thread))).scalar_one()
        thread.last_inbound_at = datetime(2020, 1, 1, tzinfo=timezone.utc)  # 48 h are long gone
    assert await resolve(conversation, "c3", ask_rating=True) is None
    async with conversation.db.sessions() as session:
        assert (await session.execute(select(CsatRating))).first() is None
