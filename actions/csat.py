"""Customer satisfaction: a 1-5 rating asked for when an agent resolves a thread.

The request is remembered on the thread (`csat_request_id`). The customer's next message
settles it: a rating ("5", "５分", "五星", "⭐⭐⭐⭐") is stored and thanked, and never reaches
the NLU; anything else clears the request and is handled as usual, so a customer who just
carries on is never stuck answering a survey.

It sits with the actions (below both the conversation and the desk) because both use it: the
conversation settles a rating, the desk asks for one when an agent resolves a thread.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from actions import texts
from actions.base import ActionResult
from actions.reply_window import window_problem
from bot.settings import Settings
from bot.store import outbox
from bot.store.models import Customer, CsatRating, Message, Thread

# the figures a customer rates 1-5 with; bot.conversation.ratings reads ratings inside a review by them too
NUMERALS = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_RATING = re.compile(r"^(?:我)?(?:打|给|评)?\s*([1-5一二两三四五])\s*(?:分|星|颗星|星级)?(?:吧|的)?[\s。.!！~～]*$")
_STARS = re.compile(r"^[⭐★☆✨\s]+$")


def rating_of(text: str) -> int | None:
    """The 1-5 rating a message gives, or None if it is anything else."""
    plain = unicodedata.normalize("NFKC", text).strip()
    match = _RATING.match(plain)
    if match:
        return NUMERALS[match.group(1)]
    if _STARS.match(plain):
        stars = sum(plain.count(star) for star in "⭐★")
        return stars if 1 <= stars <= 5 else None
    return None


def answers_request(thread: Thread, text: str) -> bool:
    """True if this message is the rating the thread waits for (then it needs no NLU)."""
    return thread.csat_request_id is not None and rating_of(text) is not None


async def request_rating(session: AsyncSession, settings: Settings, thread: Thread, now: datetime, *,
                         ticket_id: int | None = None, agent_id: int | None = None) -> CsatRating | None:
    """Ask the customer for a rating (through the outbox). None when the platform's reply
    window is closed: then nobody is asked and nothing is stored."""
    customer = await session.get(Customer, thread.customer_id)
    assert customer is not None
    if window_problem(thread, customer, settings, now) is not None:
        return None
    ask = Message(thread_id=thread.id, direction="out", author="bot", text=texts.CSAT_ASK, action="csat_request",
                  state="queued", created_at=now)
    session.add(ask)
    await session.flush()
    await outbox.enqueue(session, ask, [ask.text], now)
    request = CsatRating(thread_id=thread.id, ticket_id=ticket_id, agent_id=agent_id, requested_at=now)
    session.add(request)
    await session.flush()
    thread.csat_request_id = request.id
    return request


async def take_rating(session: AsyncSession, thread: Thread, inbound: Message, now: datetime) -> ActionResult | None:
    """Store the rating the message gives and answer with thanks; None (request cleared) otherwise."""
    if thread.csat_request_id is None:
        return None
    request = await session.get(CsatRating, thread.csat_request_id)
    thread.csat_request_id = None
    score = rating_of(inbound.text) if inbound.msg_type == "text" else None
    if score is None or request is None or request.rating is not None:
        return None
    request.rating, request.rated_at, request.message_id = score, now, inbound.id
    return ActionResult([texts.CSAT_THANKS if score >= 3 else texts.CSAT_THANKS_LOW])
