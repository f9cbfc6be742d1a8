"""Agent replies: checked against the platform's reply window at once, then the outbox.

A reply the platform would refuse (too late after the customer's last message, the count
used up, the customer gone) is refused here with the reason, not queued to fail later.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.settings import Settings
from bot.store import outbox
from bot.store.db import Database
from bot.store.models import Customer, Message, Thread


class ReplyRefused(Exception):
    """The reply cannot reach the customer; `reason` says why, in words an agent reads."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def window_problem(thread: Thread, customer: Customer, settings: Settings, now: datetime) -> str | None:
    if customer.unsubscribed:
        return "客户已取消关注，无法再发送消息"
    if thread.last_inbound_at is None or now - thread.last_inbound_at > timedelta(hours=settings.window_hours):
        return f"已超过客户最后一条消息 {settings.window_hours} 小时，平台不允许再主动回复，请等待客户再次来信"
    if thread.window_used >= settings.window_messages:
        return f"客户上次来信后已回复 {settings.window_messages} 条，已达平台上限，请等待客户再次来信"
    return None


async def send(db: Database, settings: Settings, *, thread_id: int, agent_id: int | None, text: str,
               now: datetime) -> Message:
    """Queue an agent's reply for delivery, or raise ReplyRefused."""
    if not text.strip():
        raise ReplyRefused("回复内容不能为空")
    async with db.uow() as session:
        thread = (await session.execute(select(Thread).where(Thread.id == thread_id).with_for_update(of=Thread))).scalar_one_or_none()
        if thread is None:
            raise ReplyRefused("会话不存在")
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
        return message
