"""The outbox: replies waiting to go out through a platform API, claimed safely by any process.

A bot reply is first stored `pending`. Exactly one of two things then claims it: the webhook
that answers passively within the platform's time limit (state `passive`), or the outbox
(state `queued`). Claims are conditional UPDATEs, so the two can never both win.
Rows are taken for sending with FOR UPDATE SKIP LOCKED on PostgreSQL (a plain conditional
UPDATE on SQLite, which has one writer anyway), so several senders never send one row twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.store.models import Customer, Message, OutboxItem, Thread

LEASE = timedelta(seconds=60)


async def claim_passive(session: AsyncSession, reply_ids: list[int]) -> bool:
    """Take pending replies for a passive answer; False if the outbox has them already."""
    if not reply_ids:
        return True
    result = await session.execute(update(Message).where(Message.id.in_(reply_ids), Message.state == "pending")
                                   .values(state="passive"))
    return result.rowcount == len(reply_ids)


async def enqueue(session: AsyncSession, message: Message, texts: list[str], now: datetime) -> list[OutboxItem]:
    """Queue the texts of one outbound message (several when it had to be split)."""
    thread = await session.get(Thread, message.thread_id)
    assert thread is not None
    customer = await session.get(Customer, thread.customer_id)
    assert customer is not None
    items = [OutboxItem(message_id=message.id, account_id=thread.account_id, recipient=customer.external_id,
                        payload={"text": text, "part": index}, state="queued", next_attempt_at=now,
                        created_at=now)
             for index, text in enumerate(texts)]
    session.add_all(items)
    thread.window_used += len(items)  # customer-service messages count against the window
    await session.flush()
    return items


async def queue_pending(session: AsyncSession, reply_ids: list[int], now: datetime, *,
                        passive_too: bool = False) -> int:
    """Move pending replies to the outbox (those a passive answer has not claimed)."""
    states = ("pending", "passive") if passive_too else ("pending",)
    rows = await session.execute(update(Message).where(Message.id.in_(reply_ids), Message.state.in_(states))
                                 .values(state="queued").returning(Message.id))
    claimed = list(rows.scalars())
    for message in (await session.execute(select(Message).where(Message.id.in_(claimed)))).scalars():
        await enqueue(session, message, [message.text], now)
    return len(claimed)


async def stale_pending(session: AsyncSession, older_than: datetime) -> list[int]:
    """Replies nobody claimed (the process answering the webhook died): the outbox takes them."""
    rows = await session.execute(select(Message.id).where(Message.state == "pending",
                                                          Message.direction == "out",
                                                          Message.created_at < older_than).limit(200))
    return list(rows.scalars())


async def claim_due(session: AsyncSession, now: datetime, limit: int, is_postgres: bool) -> list[OutboxItem]:
    """Take due rows for sending, leased so that a crashed sender's rows come back."""
    earlier = aliased(OutboxItem)
    waiting_behind = (select(earlier.id).where(  # per customer, messages go out in order
        earlier.account_id == OutboxItem.account_id, earlier.recipient == OutboxItem.recipient,
        earlier.id < OutboxItem.id, earlier.state.in_(("queued", "sending"))).exists())
    due = (select(OutboxItem).where(
        OutboxItem.state.in_(("queued", "sending")), OutboxItem.next_attempt_at <= now, ~waiting_behind)
        .order_by(OutboxItem.id).limit(limit))
    if is_postgres:
        due = due.with_for_update(skip_locked=True)
    items = list((await session.execute(due)).scalars())
    claimed = []
    for item in items:
        result = await session.execute(update(OutboxItem).where(
            OutboxItem.id == item.id, OutboxItem.state == item.state,
            OutboxItem.attempts == item.attempts).values(
            state="sending", attempts=item.attempts + 1, next_attempt_at=now + LEASE))
        if result.rowcount == 1:
            claimed.append(item)
    return claimed


async def finish(session: AsyncSession, item_id: int, *, state: str, now: datetime,
                 error: str | None = None, retry_at: datetime | None = None) -> None:
    """Record the outcome of one attempt, on the row and on its message."""
    values: dict = {"state": state, "last_error": error}
    if state == "sent":
        values["sent_at"] = now
    if state == "queued":
        values["next_attempt_at"] = retry_at
    await session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(**values))
    item = await session.get(OutboxItem, item_id)
    assert item is not None
    if state in ("sent", "failed"):
        await session.execute(update(Message).where(Message.id == item.message_id)
                              .values(state=state, error=error))
