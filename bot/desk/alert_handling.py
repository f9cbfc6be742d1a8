"""What admins do with a crisis alert (bot/desk/radar.py opens them): read it with its
complaints, send the affected customers one reviewed statement, close it with a reason.

The statement goes through the outbox like an agent's reply (bot/desk/replies.py), to each
affected customer once, and only inside their channel's reply window; the others are listed
with the reason. A notify or close is all or nothing and in the audit log.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actions import texts
from bot.desk import events
from bot.desk.access import NotFound, Refusal, Viewer
from bot.desk.replies import ReplyRefused, queue
from bot.settings import Settings
from bot.store import alerts, audit, threads
from bot.store.models import Alert, Thread

MAX_REASON = 500
STATUSES = ("open", "closed")


class AlertConflict(Refusal):
    """The alert's state does not allow it (closed already; everybody notified already): 409."""


class AlertInvalid(Refusal):
    """Bad input (an empty or too long statement, no reason): 422."""


@dataclass
class AlertView:
    alert: Alert
    accounts: list[str]  # slugs
    members: list[alerts.MemberRow] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[int]:
        return sorted({m.thread_id for m in self.members})

    def as_json(self) -> dict[str, Any]:
        a = self.alert
        return {"id": a.id, "topic": a.topic, "status": a.status, "accounts": self.accounts, "count": a.count,
                "first_at": a.first_at.isoformat(), "last_at": a.last_at.isoformat(), "thread_ids": self.thread_ids,
                "ticket_ids": sorted({m.ticket_id for m in self.members if m.ticket_id is not None}),
                "opened_at": a.opened_at.isoformat(), "baseline": round(a.baseline, 2),
                "notified_at": a.notified_at.isoformat() if a.notified_at else None, "notified_by": a.notified_by,
                "closed_at": a.closed_at.isoformat() if a.closed_at else None, "closed_by": a.closed_by,
                "close_reason": a.close_reason}


@dataclass(frozen=True)
class Notice:
    """What a notify did: the threads the statement was queued to, and those outside the window."""

    alert_id: int
    queued: list[int]
    outside: list[dict[str, Any]]  # {thread_id, customer, account, reason}

    def as_json(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "queued": len(self.queued), "outside_window": len(self.outside),
                "queued_thread_ids": self.queued, "outside": self.outside}


async def listing(session: AsyncSession, status: str | None) -> list[AlertView]:
    """Alerts of a status (None: all) with their complaints, the latest activity first."""
    return await _views(session, await alerts.listed(session, status))


async def one(session: AsyncSession, alert_id: int) -> AlertView:
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("预警不存在")
    return (await _views(session, [alert]))[0]


async def _views(session: AsyncSession, found: list[Alert]) -> list[AlertView]:
    slugs = await alerts.account_slugs(session, sorted({i for a in found for i in a.account_ids}))
    views = {a.id: AlertView(a, [slugs[i][0] for i in a.account_ids]) for a in found}
    for member in await alerts.members(session, list(views)):
        views[member.alert_id].members.append(member)
    return list(views.values())


async def banner(session: AsyncSession, viewer: Viewer) -> list[Alert]:
    """The open alerts the viewer's pages announce: those touching the viewer's accounts."""
    return [a for a in await alerts.open_alerts(session) if any(viewer.sees(i) for i in a.account_ids)]


def _last_inbound(thread: Thread) -> datetime:
    return thread.last_inbound_at or datetime.min.replace(tzinfo=timezone.utc)


async def _tell(session: AsyncSession, settings: Settings, viewer: Viewer, theirs: list[Thread], text: str,
                now: datetime, accounts: dict[int, tuple[str, str]]) -> int | dict[str, Any]:
    """Queue the statement on one of a person's threads: the one they wrote on last first (the
    likeliest inside its window). The thread it was queued on, or, when every window is closed,
    how the page and API list the person (that thread, and why)."""
    ordered = sorted(theirs, key=_last_inbound, reverse=True)
    reasons = []
    for thread in ordered:
        try:
            await queue(session, settings, thread, agent_id=viewer.id, text=text, now=now)
        except ReplyRefused as refused:
            reasons.append(refused.reason)
            continue
        return thread.id
    customer = ordered[0].customer
    return {"thread_id": ordered[0].id, "customer": customer.nickname or customer.external_id,
            "account": accounts[ordered[0].account_id][0], "reason": reasons[0]}


def statement(topic: str) -> str:
    """The statement an admin starts from (they review it before it is sent)."""
    return texts.ALERT_STATEMENT.format(topic=topic)


async def _open_alert(session: AsyncSession, viewer: Viewer, alert_id: int) -> Alert:
    viewer.require_admin()
    alert = await alerts.locked(session, alert_id)
    if alert is None:
        raise NotFound("预警不存在")
    if alert.status != "open":
        raise AlertConflict("预警已关闭")
    return alert


async def notify(session: AsyncSession, viewer: Viewer, settings: Settings, alert_id: int, text: str, now: datetime,
                 too_long: Callable[[str, set[str]], str | None]) -> Notice:
    """Queue `text` to every affected customer not notified yet who is inside their channel's
    window, in the caller's unit of work: once per person (linked identities are one customer),
    on the channel they wrote on last that is open. `too_long(text, platforms)`: why the text
    does not fit one message of those platforms (the channels know their limits), or None."""
    text = text.strip()
    alert = await _open_alert(session, viewer, alert_id)
    if not text:
        raise AlertInvalid("通知内容不能为空")
    accounts = await alerts.account_slugs(session, alert.account_ids)
    if (problem := too_long(text, {platform for _, platform in accounts.values()})) is not None:
        raise AlertInvalid(problem)
    members = await alerts.member_threads(session, alert.id)
    told = {m.person for m in members if m.notified}
    waiting: dict[int, list[Thread]] = defaultdict(list)  # person -> their threads not told yet
    for member in members:  # by thread id: locks are always taken in one order
        if not member.notified:
            thread = await threads.locked(session, member.thread_id)
            assert thread is not None
            waiting[member.person].append(thread)
    if not set(waiting) - told:
        raise AlertConflict("所有受影响的顾客都已通知过")
    queued: list[int] = []
    outside: list[dict[str, Any]] = []
    done: list[int] = []  # threads whose person has the statement now (or had it on another channel)
    for person, theirs in waiting.items():
        if person not in told:
            sent = await _tell(session, settings, viewer, theirs, text, now, accounts)
            if isinstance(sent, dict):
                outside.append(sent)
                continue
            queued.append(sent)
        done += [thread.id for thread in theirs]
    await alerts.mark_notified(session, alert.id, done, now)
    if queued:
        alert.notified_at, alert.notified_by, alert.notice_text = now, viewer.username, text
    notice = Notice(alert.id, queued, outside)
    await audit.record(session, viewer.username, "alert.notify", "alert", alert.id, now=now,
                       after={"text": text, "queued": len(queued), "outside_window": len(outside),
                              "thread_ids": queued})
    return notice


async def close(session: AsyncSession, viewer: Viewer, alert_id: int, reason: str, now: datetime) -> Alert:
    """Close the alert with who and why (audited); a later wave on the topic opens a new one."""
    reason = reason.strip()
    alert = await _open_alert(session, viewer, alert_id)
    if not reason:
        raise AlertInvalid("请填写关闭原因")
    if len(reason) > MAX_REASON:
        raise AlertInvalid(f"关闭原因最多 {MAX_REASON} 字")
    alert.status, alert.open_key = "closed", None
    alert.closed_at, alert.closed_by, alert.close_reason = now, viewer.username, reason
    await audit.record(session, viewer.username, "alert.close", "alert", alert.id, now=now,
                       before={"status": "open"}, after={"status": "closed", "reason": reason})
    await events.publish(session, "alert", kind="closed", alert_id=alert.id)
    return alert


def timeline(members: list[alerts.MemberRow], first_at: datetime, last_at: datetime,
             slots: int = 24) -> list[tuple[datetime, int]]:
    """Complaints per time slot from the first to the last (a round slot length: 1, 2, 5, 10,
    15, 30 or 60 minutes, or whole hours), for the page's chart."""
    span = max(last_at - first_at, timedelta(minutes=1))
    minutes = next((m for m in (1, 2, 5, 10, 15, 30, 60) if span <= timedelta(minutes=m * slots)),
                   60 * -(-int(span.total_seconds() // 3600 + 1) // slots))
    step = timedelta(minutes=minutes)
    start = first_at.replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % minutes) if minutes < 60 else timedelta(minutes=start.minute)
    count = int((last_at - start) / step) + 1
    buckets = [0] * count
    for member in members:
        buckets[min(count - 1, int((member.at - start) / step))] += 1
    return [(start + i * step, n) for i, n in enumerate(buckets)]
