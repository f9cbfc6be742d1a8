"""The small interface every action implements: a context in, replies out.

Actions run in-process inside the conversation's unit of work, so what they write
(tickets, inbox rows, thread state) commits or rolls back together with the message.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.policy import Decision
from bot.settings import Settings
from bot.store.models import Message, Thread


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
