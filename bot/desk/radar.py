"""The crisis radar: spots a wave of complaints about one topic before it spreads.

Every `carebot serve` scans every `CAREBOT_RADAR_INTERVAL` seconds (a scan takes `now`, so tests
drive it with a fixed clock). A scan, in one transaction:
1. forgets the terms of complaints older than the trailing rate's days, and stores the topic
   terms (bot/nlu/topics.py) of complaints not read yet: those the bot opened a ticket for
   (private messages and public Weibo mentions alike) and those said while people held the
   thread (recorded with intent "complain": bot/conversation/policy.py held_complaint);
2. per scope (the whole matrix of accounts, or each account: `CAREBOT_RADAR_SCOPE`), adds the
   window's complaints that name an open alert's topic to that alert;
3. groups the rest by shared term, the largest group first (so "手机充电器发烫" counts once, with
   充电器 or with 手机, never twice), and opens an alert for a group of at least
   `CAREBOT_RADAR_MIN_COUNT` customers (people: linked identities are one) complaining within
   `CAREBOT_RADAR_WINDOW_MINUTES` that is also at least `CAREBOT_RADAR_RATE_FACTOR` times the
   term's usual count for such a window (its daily rate over the `CAREBOT_RADAR_BASELINE_DAYS`
   before): a product that always gets complaints needs a real jump, and one angry customer
   repeating themselves is not a wave.
Pages hear of an opened or grown alert by an `alert` event; an opened one is logged and POSTed
to the optional webhook. Scans of several servers take turns, and the schema keeps one open
alert per scope and topic whatever happens (bot/store/alerts.py).
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import events
from bot.desk.webhook import WebhookPoster, every
from bot.nlu.topics import topic_terms
from bot.settings import Settings
from bot.store import alerts
from bot.store.db import Database
from bot.store.models import Alert, utcnow

log = logging.getLogger(__name__)
MARK_BATCH = 500  # complaints whose terms one scan reads at most, newest first


@dataclass(frozen=True)
class Opened:
    """An alert a scan opened, as the log and the webhook report it."""

    alert_id: int
    topic: str
    accounts: list[str]
    count: int
    first_at: datetime
    last_at: datetime
    thread_ids: list[int]

    @property
    def label(self) -> str:
        return f"alert {self.alert_id} ({self.topic})"

    def as_json(self) -> dict[str, object]:
        return {"event": "alert.opened", "id": self.alert_id, "topic": self.topic, "accounts": self.accounts,
                "count": self.count, "first_at": self.first_at.isoformat(), "last_at": self.last_at.isoformat(),
                "thread_ids": self.thread_ids}


def scope_key(account_id: int | None) -> str:
    return "all" if account_id is None else f"account:{account_id}"


async def scan(session: AsyncSession, settings: Settings, now: datetime, *, backfill: bool = True) -> list[Opened]:
    """One pass in the caller's unit of work; returns the alerts it opened. `backfill`: also read
    the terms of complaints of the baseline days (a server's first pass: complaints that came
    while no server scanned); later passes read the window's only."""
    await alerts.take_scan_turn(session)
    window, baseline = timedelta(minutes=settings.radar_window_minutes), timedelta(days=settings.radar_baseline_days)
    await alerts.forget_terms(session, now - window - baseline)
    since = now - window - (baseline if backfill else timedelta(0))
    await _read_new_complaints(session, settings, since, now)
    recent = await alerts.unassigned_terms(session, now - window, now)
    scopes: dict[int | None, list[alerts.Termed]] = defaultdict(list)
    for row in recent:
        scopes[None if settings.radar_scope == "matrix" else row.account_id].append(row)
    open_by_key = {alert.open_key: alert for alert in await alerts.open_alerts(session)}
    opened: list[Opened] = []
    for scope, rows in sorted(scopes.items(), key=lambda item: item[0] or 0):
        terms: dict[int, set[str]] = defaultdict(set)
        for row in rows:
            terms[row.message_id].add(row.term)
        left = await _join_open(session, scope, rows, terms, open_by_key)
        opened += await _open_new(session, settings, scope, left, terms, now)
    return opened


async def _read_new_complaints(session: AsyncSession, settings: Settings, since: datetime, now: datetime) -> None:
    complaints = await alerts.unmarked_complaints(session, since, now, MARK_BATCH)
    if complaints:
        # jieba is CPU work (and loads its dictionary once): off the event loop
        found = await asyncio.to_thread(lambda: [topic_terms(c.text, c.ranking, settings.complaint_keywords)
                                                 for c in complaints])
        await alerts.store_terms(session, list(zip(complaints, found)))


def _first_rows(rows: list[alerts.Termed], message_ids: set[int]) -> list[alerts.Termed]:
    """One row per complaint (the terms differ, the rest is the same)."""
    return list({row.message_id: row for row in rows if row.message_id in message_ids}.values())


async def _join_open(session: AsyncSession, scope: int | None, rows: list[alerts.Termed], terms: dict[int, set[str]],
                     open_by_key: dict[str | None, Alert]) -> list[alerts.Termed]:
    """Add complaints naming an open alert's topic to it; returns the rows of the others."""
    joining: dict[int, set[int]] = defaultdict(set)  # alert id -> message ids
    for message_id, said in terms.items():
        for term in sorted(said):
            alert = open_by_key.get(f"{scope_key(scope)}:{term}")
            if alert is not None:
                joining[alert.id].add(message_id)
                break
    taken: set[int] = set()
    for alert in open_by_key.values():
        if alert is not None and joining.get(alert.id):
            if await alerts.add_members(session, alert, _first_rows(rows, joining[alert.id])):
                await events.publish(session, "alert", kind="joined", alert_id=alert.id)
            taken |= joining[alert.id]
    return [row for row in rows if row.message_id not in taken]


async def _open_new(session: AsyncSession, settings: Settings, scope: int | None, rows: list[alerts.Termed],
                    terms: dict[int, set[str]], now: datetime) -> list[Opened]:
    """Open alerts for the groups that stand out, the largest group first. A group's size is the
    people in it, not the messages: one customer repeating a complaint (on two linked identities
    too) is not a wave; all their complaints join the alert once it opens."""
    window = timedelta(minutes=settings.radar_window_minutes)
    baseline_days = timedelta(days=settings.radar_baseline_days)
    windows_per_baseline = baseline_days / window
    waiting = {row.message_id for row in rows}
    person = {row.message_id: row.person for row in rows}

    def people(group: set[int]) -> int:
        return len({person[message_id] for message_id in group})

    tried: set[str] = set()
    opened: list[Opened] = []
    while True:
        counts: dict[str, set[int]] = defaultdict(set)
        for message_id in waiting:
            for term in terms[message_id] - tried:
                counts[term].add(message_id)
        if not counts:
            return opened
        term, group = max(counts.items(), key=lambda item: (people(item[1]), len(item[1]), item[0]))
        if people(group) < settings.radar_min_count:
            return opened
        tried.add(term)
        usual = await alerts.term_count(session, term, now - window - baseline_days, now - window,
                                        scope) / windows_per_baseline
        if people(group) < settings.radar_rate_factor * usual:
            continue  # as many as ever: the topic's usual complaints, not a wave
        alert = await _open(session, scope, term, usual, _first_rows(rows, group), now)
        waiting -= group
        if alert is not None:
            opened.append(alert)


async def _open(session: AsyncSession, scope: int | None, term: str, usual: float, members: list[alerts.Termed],
                now: datetime) -> Opened | None:
    """The new alert, or None when another server's scan opened it a moment ago (the members
    join that one; it reports the opening)."""
    key = f"{scope_key(scope)}:{term}"
    alert = Alert(topic=term, scope_account_id=scope, open_key=key, status="open", account_ids=[], count=0,
                  first_at=members[0].at, last_at=members[-1].at, baseline=usual, opened_at=now)
    if not await alerts.create(session, alert):
        existing = await alerts.by_open_key(session, key)
        assert existing is not None
        await alerts.add_members(session, existing, members)
        return None
    await alerts.add_members(session, alert, members)
    await events.publish(session, "alert", kind="opened", alert_id=alert.id)
    slugs = await alerts.account_slugs(session, alert.account_ids)
    return Opened(alert.id, alert.topic, [slugs[i][0] for i in alert.account_ids], alert.count, alert.first_at,
                  alert.last_at, sorted({m.thread_id for m in members}))


class RadarWatch:
    """The periodic scan of one server, and the alert webhook's sender."""

    def __init__(self, db: Database, settings: Settings, *, webhook: WebhookPoster | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.settings, self.webhook, self.clock = db, settings, webhook, clock
        self.backfilled = False

    async def check(self) -> list[Opened]:
        async with self.db.uow() as session:
            opened = await scan(session, self.settings, self.clock(), backfill=not self.backfilled)
        self.backfilled = True
        for alert in opened:
            log.warning("crisis alert %d opened: %d complaints about %s (%s)", alert.alert_id, alert.count,
                        alert.topic, ", ".join(alert.accounts))
            if self.webhook is not None:
                self.webhook.submit(alert)
        return opened

    async def run(self) -> None:
        await every(self.settings.radar_interval, self.check, "crisis radar scan", self.webhook)
