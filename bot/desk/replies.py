"""Agent replies: checked against the platform's reply window at once, then the outbox.

A reply the platform would refuse (too late after the customer's last message, the count
used up, the customer gone) is refused here with the reason, not queued to fail later.
Each platform has its own window (`Settings.reply_window`; the rule is actions.reply_window).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from actions.reply_window import window_problem
from bot.settings import Settings
from bot.store import outbox, threads, tickets
from bot.store.models import Customer, Message, Thread


class ReplyRefused(Exception):
    """The reply cannot reach the customer; `reason` says why, in words an agent reads."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def send(session: AsyncSession, settings: Settings, *, thread_id: int, agent_id: int | None, text: str,
               now: datetime) -> Message:
    """Queue an agent's reply for delivery in the caller's unit of work, or raise ReplyRefused."""
    thread = await threads.locked(session, thread_id)
    if thread is None:
        raise ReplyRefused("会话不存在")
    return await queue(session, settings, thread, agent_id=agent_id, text=text, now=now)


async def queue(session: AsyncSession, settings: Settings, thread: Thread, *, agent_id: int | None, text: str,
                now: datetime) -> Message:
    """`send` for a thread whose row the caller has locked already."""
    if not text.strip():
        raise ReplyRefused("回复内容不能为空")
    customer = await session.get(Customer, thread.customer_id)
    assert customer is not None
    problem = window_problem(thread, customer, settings, now)
    if problem:
        raise ReplyRefused(problem)
    message = Message(thread_id=thread.id, direction="out", author="agent", agent_id=agent_id, text=text,
                      state="queued", created_at=now)
    session.add(message)
    await session.flush()
    await outbox.enqueue(session, message, [text], now)
    await tickets.first_response_met(session, thread.id, now)
    return message


def window_left(thread: Thread, customer: Customer, settings: Settings, now: datetime) -> tuple[int, int | None]:
    """Seconds and messages left in the platform's reply window ((0, 0) when it is closed;
    messages None: the platform sets no count)."""
    if window_problem(thread, customer, settings, now) is not None:
        return 0, 0
    window = settings.reply_window(customer.platform)
    seconds = int((thread.last_inbound_at + timedelta(hours=window.hours) - now).total_seconds())
    limit = window.after_public if thread.last_inbound_public else window.messages
    return max(0, seconds), None if limit is None else max(0, limit - thread.window_used)
