"""Live change events for agents' pages: what changed, never the data itself.

An event is a small dict `{"topic": ..., "thread_id"?: int, "account_id"?: int, ...}` that tells
a page to fetch again (pages always fetch through the permission checks, so an event carries
nothing an agent may not see). Topics: `inbox` (an item appeared, was claimed, released,
closed), `thread` (a message arrived or changed delivery state), `ticket`, `sla`, `alert` (a
crisis alert opened, grew or closed: every page's banner), and `resync`
(events may have been missed: fetch everything).

Events are sent when the transaction that made the change commits, to every `carebot serve`
process: on PostgreSQL through NOTIFY (triggers on `inbox` and `messages` send those topics
whichever code changed the rows; `publish` adds any other), on SQLite by fan-out inside the
one process (a session hook reports inbox and message rows written through the ORM).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.store.db import Database, notify
from bot.store.models import InboxItem, Message
from bot.waiting import within

log = logging.getLogger(__name__)
CHANNEL = "carebot_events"
PENDING = "carebot_events"  # key in Session.info: events waiting for the commit (SQLite)
QUEUE_SIZE = 256
LISTEN_RETRY = 2.0  # seconds between checks of the LISTEN connection (PostgreSQL)
Event = dict[str, Any]

# SQLite: the buses of this process, by database file (tests run several apps in one process)
_local_buses: dict[str, set["EventBus"]] = {}


def _key(database: str | None) -> str:
    return database or ":memory:"


async def publish(session: AsyncSession, topic: str, **data: Any) -> None:
    """Send an event when `session`'s transaction commits (nothing if it rolls back)."""
    payload: Event = {"topic": topic, **data}
    if session.get_bind().dialect.name == "postgresql":
        await notify(session, CHANNEL, json.dumps(payload))
    else:
        session.sync_session.info.setdefault(PENDING, []).append(payload)


async def rows_changed(session: AsyncSession, topic: str, **data: Any) -> None:
    """After a Core UPDATE of `inbox` or `messages` rows (which the ORM hook cannot see): on
    PostgreSQL the triggers report it already, on SQLite this does."""
    if session.get_bind().dialect.name != "postgresql":
        await publish(session, topic, **data)


class Subscription:
    """One listener's queue. When it overflows, the backlog is replaced by one `resync`."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)

    def put(self, item: Event) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait({"topic": "resync"})

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after `timeout` seconds without one."""
        return (await within(self.queue.get(), timeout))[1]


class EventBus:
    """One per process: receives every committed event and hands it to local subscribers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.subscribers: set[Subscription] = set()
        self._connection: asyncpg.Connection | None = None
        self._task: asyncio.Task | None = None
        self._closing = False

    async def start(self) -> None:
        if self.db.is_sqlite:
            _watch_orm_sessions()
            _local_buses.setdefault(_key(self.db.engine.url.database), set()).add(self)
        else:
            await self._listen()
            self._task = asyncio.create_task(self._keep_listening())

    async def close(self) -> None:
        if self.db.is_sqlite:
            _local_buses.get(_key(self.db.engine.url.database), set()).discard(self)
            return
        self._closing = True
        if self._task:
            self._task.cancel()
            # a cancellation that lands as asyncpg finishes connecting can be swallowed (Python
            # 3.11's wait_for): the loop then sees `_closing` on its next round instead
            await asyncio.wait({self._task}, timeout=2 * LISTEN_RETRY)
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        self.subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self.subscribers.discard(subscription)

    def deliver(self, item: Event) -> None:
        for subscription in list(self.subscribers):
            subscription.put(item)

    async def publish_now(self, topic: str, **data: Any) -> None:
        """Send an event outside any transaction (the change is committed already)."""
        async with self.db.uow() as session:
            await publish(session, topic, **data)

    # PostgreSQL: one LISTEN connection per process, re-opened when it drops
    async def _listen(self) -> None:
        url = self.db.engine.url.set(drivername="postgresql")
        self._connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        await self._connection.add_listener(CHANNEL, self._on_notify)

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.deliver(json.loads(payload))
        except ValueError:
            log.warning("ignoring a malformed event: %r", payload[:200])

    async def _keep_listening(self, interval: float = LISTEN_RETRY) -> None:
        while not self._closing:
            await asyncio.sleep(interval)
            if self._closing:
                return
            if self._connection is not None and not self._connection.is_closed():
                continue
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("event listener reconnect failed: %s", exc)
                continue
            self.deliver({"topic": "resync"})  # events during the gap are lost: pages fetch again


_watching = False


def _watch_orm_sessions() -> None:
    """SQLite: report inbox and message rows written through the ORM, as the triggers do on PostgreSQL."""
    global _watching
    if _watching:
        return
    _watching = True
    sa_event.listen(Session, "after_flush", _note_changes)
    sa_event.listen(Session, "after_commit", _fan_out)
    sa_event.listen(Session, "after_rollback", lambda session: session.info.pop(PENDING, None))


def _note_changes(session: Session, _context: Any) -> None:
    if session.get_bind().dialect.name != "sqlite":
        return
    pending = session.info.setdefault(PENDING, [])
    for row in (*session.new, *session.dirty):
        if isinstance(row, InboxItem):
            pending.append({"topic": "inbox", "thread_id": row.thread_id})
        elif isinstance(row, Message):
            pending.append({"topic": "thread", "thread_id": row.thread_id})


def _fan_out(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    buses = _local_buses.get(_key(session.get_bind().url.database), set())
    unique = {json.dumps(item, sort_keys=True): item for item in pending}
    for bus in list(buses):
        for item in unique.values():
            bus.deliver(item)
