"""Customer profiles as agents read and change them (pages and API alike): one consumer's
identities on every account and platform, their story in one timeline, tags, a note, the
numbers they stated; linking identities ("这是同一个人") and unlinking them, checked and audited,
in the caller's unit of work.

An agent sees a profile through the identities on accounts they work for; identities on other
accounts are counted, not shown. Linking and unlinking need both identities visible.
Replies are unaffected by links: a thread belongs to one identity on one account, and the
outbox sends on that thread's channel to that identity's address, inside that channel's window.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk.access import NotFound, Refusal, Viewer
from bot.desk.stated_numbers import StatedNumbers, extract, looks_like_number
from bot.store import audit, people
from bot.store.models import Account, Customer, Person

MAX_TAGS = 20
MAX_TAG_CHARS = 20
MAX_NOTE_CHARS = 2000
# a tag is a short label shown everywhere: markup characters are refused, not escaped, so a tag
# reads the same on every page, in the API and in an export
TAG_FORBIDDEN = re.compile(r"[<>&\"'`\\/\x00-\x1f\x7f]")
UNIONID_ACTOR = "wechat:unionid"


class ProfileError(Refusal):
    """Bad input (422): the reason says what; nothing changed."""


class LinkConflict(Refusal):
    """The link asked for is already there, or the unlink has nothing to undo (409)."""


@dataclass
class Event:
    """One entry of the timeline, newest first."""

    at: datetime
    kind: str  # thread | ticket | resolved | rating | praise
    customer_id: int
    thread_id: int | None
    account: Account
    ticket: str | None = None
    status: str | None = None
    text: str = ""
    rating: int | None = None
    last_at: datetime | None = None  # a thread's latest message

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "customer_id": self.customer_id,
                "thread_id": self.thread_id, "account": self.account.slug, "platform": self.account.platform,
                "ticket": self.ticket, "status": self.status, "text": self.text, "rating": self.rating,
                "last_at": self.last_at.isoformat() if self.last_at else None}


@dataclass
class Identity:
    customer: Customer
    account: Account
    thread_id: int | None

    def as_json(self) -> dict[str, Any]:
        c = self.customer
        return {"id": c.id, "platform": c.platform, "external_id": c.external_id, "unionid": c.unionid,
                "nickname": c.nickname, "unsubscribed": c.unsubscribed, "thread_id": self.thread_id,
                "account": {"slug": self.account.slug, "name": self.account.name, "platform": self.account.platform},
                "first_seen": c.first_seen.isoformat(), "last_seen": c.last_seen.isoformat()}


@dataclass
class Profile:
    customer: Customer
    person: Person | None
    identities: list[Identity]
    hidden: int  # identities on accounts the viewer does not work for
    timeline: list[Event]
    stated: StatedNumbers
    matches: list[tuple[Customer, Account]] = field(default_factory=list)  # a search's results

    @property
    def tags(self) -> list[str]:
        return list(self.person.tags) if self.person else []

    @property
    def note(self) -> str:
        return self.person.note if self.person else ""

    def as_json(self) -> dict[str, Any]:
        return {"id": self.customer.id, "person_id": self.customer.person_id, "tags": self.tags, "note": self.note,
                "stated": self.stated.as_json(), "identities": [i.as_json() for i in self.identities],
                "hidden_identities": self.hidden, "timeline": [event.as_json() for event in self.timeline],
                "updated_at": self.person.updated_at.isoformat() if self.person else None}


def check_tags(value: Any) -> list[str]:
    """A list of short labels without markup, or ProfileError; blanks dropped, duplicates merged."""
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ProfileError("tags 必须是字符串列表")
    tags = list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))
    if len(tags) > MAX_TAGS:
        raise ProfileError(f"最多 {MAX_TAGS} 个标签")
    for tag in tags:
        if len(tag) > MAX_TAG_CHARS:
            raise ProfileError(f"标签最长 {MAX_TAG_CHARS} 个字符：{tag[:MAX_TAG_CHARS]}…")
        if TAG_FORBIDDEN.search(tag):
            raise ProfileError("标签不能包含 < > & 引号 斜杠 等符号或控制字符")
    return tags


def check_note(value: Any) -> str:
    if not isinstance(value, str):
        raise ProfileError("note 必须是字符串")
    if len(value) > MAX_NOTE_CHARS:
        raise ProfileError(f"备注最长 {MAX_NOTE_CHARS} 个字符")
    return value.strip()


async def visible_customer(session: AsyncSession, viewer: Viewer, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None or not viewer.sees(customer.account_id):
        raise NotFound("客户不存在")
    return customer


async def load(session: AsyncSession, viewer: Viewer, customer_id: int) -> Profile:
    customer = await visible_customer(session, viewer, customer_id)
    linked = await people.identities(session, customer)
    shown = [c for c in linked if viewer.sees(c.account_id)]
    accounts = await people.accounts_of(session, shown)
    threads = await people.threads_of(session, [c.id for c in shown])
    thread_of = {thread.customer_id: thread for thread in threads}
    owner = {thread.id: thread.customer_id for thread in threads}
    thread_ids = [thread.id for thread in threads]
    account_of = {c.id: accounts[c.account_id] for c in shown}

    def event(kind: str, at: datetime, customer_id: int, **fields: Any) -> Event:
        thread = thread_of.get(customer_id)
        return Event(at, kind, customer_id, thread.id if thread else None, account_of[customer_id], **fields)

    last = await people.last_message_at(session, thread_ids)
    timeline = [event("thread", thread.created_at, thread.customer_id, last_at=last.get(thread.id))
                for thread in threads]
    for ticket in await people.tickets_of(session, [c.id for c in shown]):
        timeline.append(event("ticket", ticket.created_at, ticket.customer_id, ticket=ticket.number,
                              status=ticket.status, text=ticket.summary))
        if ticket.resolved_at is not None:
            timeline.append(event("resolved", ticket.resolved_at, ticket.customer_id, ticket=ticket.number,
                                  status=ticket.status))
    for rating in await people.ratings_of(session, thread_ids):
        timeline.append(event("rating", rating.rated_at or rating.requested_at, owner[rating.thread_id],
                              rating=rating.rating))
    for message in await people.customer_texts(session, thread_ids, intent="praise", limit=50):
        timeline.append(event("praise", message.created_at, owner[message.thread_id], text=message.text))
    timeline.sort(key=lambda e: e.at, reverse=True)
    stated = extract(m.text for m in reversed(await people.customer_texts(session, thread_ids)))
    identities = [Identity(c, account_of[c.id], thread_of[c.id].id if c.id in thread_of else None) for c in shown]
    return Profile(customer, await people.person_of(session, customer), identities, len(linked) - len(shown),
                   timeline, stated)


async def search(session: AsyncSession, viewer: Viewer, query: str) -> list[tuple[Customer, Account]]:
    """Candidates for "这是同一个人": by nickname, platform id, unionid, or a stated phone/order number."""
    query = query.strip()[:64]
    if not query:
        return []
    return await people.search(session, query, viewer.visible(Customer.account_id),
                               stated=looks_like_number(query))


def _snapshot(ids: list[int], person_id: int | None) -> dict[str, Any]:
    return {"person_id": person_id, "linked": ids}


async def link(session: AsyncSession, viewer: Viewer, customer_id: int, other_id: int, now: datetime) -> Person:
    """Make `other_id` (with whatever is linked to it) the same person as `customer_id`."""
    customer = await visible_customer(session, viewer, customer_id)
    if other_id == customer_id:
        raise ProfileError("不能把客户和自己关联")
    other = await visible_customer(session, viewer, other_id)
    if customer.person_id is not None and customer.person_id == other.person_id:
        raise LinkConflict("两个身份已经是同一个人")
    return await _link(session, viewer.username, customer, other, now)


async def _link(session: AsyncSession, actor: str, customer: Customer, other: Customer, now: datetime) -> Person:
    before = _snapshot(await people.linked_customer_ids(session, customer.id), customer.person_id)
    other_before = await people.linked_customer_ids(session, other.id)
    person = await people.merge(session, customer, other, now)
    await audit.record(session, actor, "customer.link", "customer", customer.id, now=now,
                       before={**before, "other": other.id, "other_linked": other_before},
                       after=_snapshot(await people.linked_customer_ids(session, customer.id), person.id))
    return person


async def unlink(session: AsyncSession, viewer: Viewer, customer_id: int, other_id: int, now: datetime) -> None:
    """`other_id` stops being the same person as `customer_id` (it keeps its own identities' history)."""
    customer = await visible_customer(session, viewer, customer_id)
    if other_id == customer_id:
        raise ProfileError("不能把客户和自己取消关联")
    other = await visible_customer(session, viewer, other_id)
    if customer.person_id is None or customer.person_id != other.person_id:
        raise LinkConflict("这两个身份没有关联")
    before = _snapshot(await people.linked_customer_ids(session, customer.id), customer.person_id)
    await people.detach(session, other, now)
    await audit.record(session, viewer.username, "customer.unlink", "customer", customer.id, now=now,
                       before={**before, "other": other.id},
                       after=_snapshot(await people.linked_customer_ids(session, customer.id), customer.person_id))


async def update(session: AsyncSession, viewer: Viewer, customer_id: int, now: datetime, *,
                 tags: list[str] | None = None, note: str | None = None) -> Person:
    """New tags and/or note (already checked with check_tags / check_note), audited."""
    customer = await visible_customer(session, viewer, customer_id)
    person = await people.ensure_person(session, customer, now)
    before = {"tags": list(person.tags), "note": person.note}
    if tags is not None:
        person.tags = tags
    if note is not None:
        person.note = note
    person.updated_at = now
    await audit.record(session, viewer.username, "customer.update", "customer", customer.id, now=now,
                       before=before, after={"tags": list(person.tags), "note": person.note})
    return person


async def tags_of(session: AsyncSession, customer: Customer) -> list[str]:
    """The person's tags (the thread page shows them)."""
    person = await people.person_of(session, customer)
    return list(person.tags) if person else []


async def link_by_unionid(session: AsyncSession, customer_id: int, unionid: str | None, now: datetime) -> None:
    """Store WeChat's answer for the customer and, when another customer has the same unionid,
    make this one the same person as the earliest of them (which the others joined the same
    way, unless an agent unlinked them: that is respected)."""
    customer = await people.unionid_answered(session, customer_id, unionid)
    if customer is None or not unionid:
        return
    first = await people.first_with_unionid(session, unionid, customer.id)
    if first is not None and (first.person_id is None or first.person_id != customer.person_id):
        await _link(session, UNIONID_ACTOR, first, customer, now)
