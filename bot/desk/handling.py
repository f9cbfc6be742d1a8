"""What an agent does with a thread they hold: reply, note, transfer, release, resolve.

Each action locks the thread row, checks that the agent may act (they hold the thread's open
inbox item, or they are an admin), changes the rows and writes the audit entry, all in the
caller's unit of work (one transaction: the web handler opens it with `db.uow()`). The change of the inbox row is published by itself (see bot/desk/events.py); the
thread's owner changes only through bot/store/ownership.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import replies, ticketing
from bot.desk.access import NotFound, Refusal, Viewer
from bot.settings import Settings
from bot.store import agents, audit, ownership, threads
from bot.store.inbox import open_item
from bot.store.models import Agent, InboxItem, Message, Thread

MAX_TEXT = 2000


class NotHolder(Refusal):
    """The agent does not hold the thread (HTTP 409)."""


class BadRequest(Refusal):
    """Invalid input (HTTP 422)."""


@dataclass
class Held:
    thread: Thread
    item: InboxItem


async def _held(session: AsyncSession, viewer: Viewer, thread_id: int) -> Held:
    thread = await threads.locked(session, thread_id)
    if thread is None or not viewer.sees(thread.account_id):
        raise NotFound("会话不存在")
    item = await open_item(session, thread_id)
    if item is None:
        raise NotHolder("该会话不在人工队列中（已由机器人处理）")
    if item.claimed_by != viewer.id and not viewer.is_admin:
        if item.claimed_by is None:
            raise NotHolder("请先接手该会话")
        holder = await session.get(Agent, item.claimed_by)
        raise NotHolder(f"已被 {holder.display_name or holder.username if holder else '其他客服'} 接手")
    return Held(thread, item)


def _text(text: str) -> str:
    if not text.strip():
        raise BadRequest("内容不能为空")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"内容最长 {MAX_TEXT} 个字符")
    return text


async def reply(session: AsyncSession, settings: Settings, viewer: Viewer, thread_id: int, text: str,
                now: datetime) -> Message:
    """Queue a reply to the customer, or ReplyRefused (window closed, unsubscribed)."""
    text = _text(text)
    held = await _held(session, viewer, thread_id)
    message = await replies.queue(session, settings, held.thread, agent_id=viewer.id, text=text, now=now)
    await audit.record(session, viewer.username, "thread.reply", "message", message.id, now=now,
                       after={"thread_id": thread_id, "text": text})
    return message


async def note(session: AsyncSession, viewer: Viewer, thread_id: int, text: str, now: datetime) -> Message:
    """An internal note: stored with the thread, never sent (msg_type `note`)."""
    text = _text(text)
    thread = await session.get(Thread, thread_id)
    if thread is None or not viewer.sees(thread.account_id):
        raise NotFound("会话不存在")
    message = Message(thread_id=thread_id, direction="out", author="agent", agent_id=viewer.id,
                      msg_type="note", text=text, state="note", created_at=now)
    session.add(message)
    await session.flush()
    await audit.record(session, viewer.username, "thread.note", "message", message.id, now=now,
                       after={"thread_id": thread_id, "text": text})
    return message


async def transfer(session: AsyncSession, viewer: Viewer, thread_id: int, to_username: str | None,
                   now: datetime) -> None:
    """To another agent of the thread's account, or (None) back to the shared queue."""
    held = await _held(session, viewer, thread_id)
    before = await _holder_name(session, held.item.claimed_by)
    if to_username is None:
        target = None
        held.item.claimed_by, held.item.claimed_at = None, None
        ownership.to_queue(held.thread, now)
    else:
        target = await agents.by_username(session, to_username)
        allowed = {a.id for a in await agents.members(session, held.thread.account_id)}
        if target is None or target.id not in allowed:
            raise BadRequest(f"客服 {to_username} 不存在或不负责该公众号")
        held.item.claimed_by, held.item.claimed_at = target.id, now
        ownership.to_agent(held.thread, target.id, now)
    await audit.record(session, viewer.username, "thread.transfer" if target else "thread.release",
                       "thread", thread_id, now=now, before={"claimed_by": before},
                       after={"claimed_by": target.username if target else None})


async def resolve(session: AsyncSession, settings: Settings, viewer: Viewer, thread_id: int, now: datetime,
                  *, ask_rating: bool | None = None) -> None:
    """Done: the inbox item closes, the thread's open tickets are resolved, the customer may be
    asked for a rating (`ask_rating`, default CAREBOT_CSAT_ON_RESOLVE), and the bot answers the
    customer's next message again."""
    held = await _held(session, viewer, thread_id)
    before = {"owner": held.thread.owner, "claimed_by": await _holder_name(session, held.item.claimed_by)}
    held.item.closed_at = now
    ownership.to_bot(held.thread, now)
    await ticketing.after_resolve(session, settings, viewer, held.thread, now, ask_rating=ask_rating)
    await audit.record(session, viewer.username, "thread.resolve", "thread", thread_id, now=now,
                       before=before, after={"owner": "bot", "inbox_item": held.item.id})


async def _holder_name(session: AsyncSession, agent_id: int | None) -> str | None:
    agent = await session.get(Agent, agent_id) if agent_id else None
    return agent.username if agent else None
