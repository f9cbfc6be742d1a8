"""The small interface every action implements: a context in, replies out.

Actions run in-process inside the conversation's unit of work, so what they write
(tickets, inbox rows, thread state) commits or rolls back together with the message.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.store.models import Message, Thread


@dataclass(frozen=True)
class Decision:
    """What the policy (bot.conversation.policy) decided for a message. It is defined here, with
    the actions that carry it out, so that actions never import the conversation layer above them."""
    action: str  # answer_faq | open_ticket | handoff | ticket_status | clarify | decline | smalltalk | thank_praise
    intent: str  # reported intent: a catalogue name or nlu_fallback
    confidence: float | None
    faq: str | None = None  # the FAQ to answer
    reason: str | None = None  # handoff reason: complaint | requested_human | bot_failed
    priority: str = "normal"
    options: tuple[str, ...] = field(default_factory=tuple)  # clarify menu (FAQ names)


@dataclass
class ActionContext:
    session: AsyncSession
    settings: Settings
    now: datetime
    thread: Thread
    message: Message  # the inbound row being answered
    decision: Decision
    text: str  # the normalised text


@dataclass
class ActionResult:
    replies: list[str] = field(default_factory=list)
    ticket: str | None = None


Action = Callable[[ActionContext], Awaitable[ActionResult]]
