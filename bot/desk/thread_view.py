"""One thread as an agent reads it: the whole history, the customer, their tickets, the window
(read in the caller's session)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import profiles, replies
from bot.desk.access import NotFound, Viewer
from bot.desk.queue import InboxRow, open_item_row
from bot.settings import Settings
from bot.store import agents, misses, threads, tickets
from bot.store.models import Account, Agent, Customer, Message, Thread, Ticket

ATTACHMENT_FIELDS = ("PicUrl", "MediaId", "ThumbMediaId", "Url", "Format", "Title", "Label")
KIND_LABELS = {"image": "图片", "voice": "语音", "video": "视频", "shortvideo": "小视频", "location": "位置",
               "link": "链接", "file": "文件", "event": "事件"}


@dataclass
class ThreadView:
    thread: Thread
    account: Account
    customer: Customer
    messages: list[dict[str, Any]]
    item: InboxRow | None
    tickets: list[Ticket]
    window_seconds: int
    window_messages: int | None  # None: the platform sets no count
    agents: list[Agent] = field(default_factory=list)
    flagged: frozenset[int] = frozenset()  # bot replies an agent said were wrong ("机器人答错了")
    tags: list[str] = field(default_factory=list)  # the customer's person's (their profile's)

    def held_by(self, viewer: Viewer) -> bool:
        return self.item is not None and (self.thread.agent_id == viewer.id or viewer.is_admin) \
            and self.item.claimed_by is not None

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.thread.id, "owner": self.thread.owner, "agent_id": self.thread.agent_id,
            "account": {"slug": self.account.slug, "name": self.account.name, "platform": self.account.platform},
            "customer": {"id": self.customer.id, "external_id": self.customer.external_id,
                         "nickname": self.customer.nickname, "unsubscribed": self.customer.unsubscribed,
                         "person_id": self.customer.person_id, "tags": self.tags,
                         "first_seen": self.customer.first_seen.isoformat(),
                         "last_seen": self.customer.last_seen.isoformat()},
            "inbox_item": self.item.as_json(now) if self.item else None,
            "tickets": [{"number": t.number, "status": t.status, "priority": t.priority, "category": t.category,
                         "summary": t.summary, "created_at": t.created_at.isoformat()} for t in self.tickets],
            "window": {"seconds_left": self.window_seconds, "messages_left": self.window_messages},
            "messages": self.messages,
        }


def _attachment(message: Message) -> dict[str, str] | None:
    """Media stay on the platform: the page shows the reference (id or URL), not the file."""
    if message.msg_type in ("text", "note") or not message.raw:
        return None
    found = {name: str(message.raw[name]) for name in ATTACHMENT_FIELDS if message.raw.get(name)}
    return {"kind": KIND_LABELS.get(message.msg_type, message.msg_type), **found}


def message_json(message: Message, names: dict[int, str]) -> dict[str, Any]:
    kind = "note" if message.msg_type == "note" else message.author
    return {"id": message.id, "kind": kind, "direction": message.direction, "author": message.author,
            "agent": names.get(message.agent_id) if message.agent_id else None,
            "msg_type": message.msg_type, "text": message.text, "intent": message.intent,
            "confidence": round(message.confidence, 3) if message.confidence is not None else None,
            "action": message.action, "state": message.state, "error": message.error,
            "attachment": _attachment(message), "created_at": message.created_at.isoformat()}


async def load(session: AsyncSession, settings: Settings, viewer: Viewer, thread_id: int,
               now: datetime) -> ThreadView:
    thread = await session.get(Thread, thread_id)
    if thread is None or not viewer.sees(thread.account_id):
        raise NotFound("会话不存在")
    account = await session.get(Account, thread.account_id)
    messages = await threads.history(session, thread_id)
    names = await agents.names(session)
    customer_tickets = await tickets.all_of_customer(session, thread.customer_id)
    item = await open_item_row(session, viewer, thread_id)
    members = await agents.members(session, thread.account_id)
    flagged = await misses.flagged_replies(session, thread_id)
    seconds, left = replies.window_left(thread, thread.customer, settings, now)
    return ThreadView(thread, account, thread.customer, [message_json(m, names) for m in messages], item,
                      customer_tickets, seconds, left, members, flagged, await profiles.tags_of(session, thread.customer))
