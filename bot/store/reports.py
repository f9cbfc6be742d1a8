"""The service's KPIs over a period, per local day: what the reports page, its CSV, the API
and `carebot report` all show, so the four can never disagree.

Every count is one GROUP BY in the database, bucketed by the local day of the deployment's
time zone (`CAREBOT_TIMEZONE`: PostgreSQL converts with the zone's own rules; SQLite shifts by
the zone's UTC offset, one CASE branch per daylight-saving change in the period). Only the
handoffs' timestamps are read into Python, one row per handoff, because their durations are
business time (each account's calendar, as its SLA clocks count) and percentiles need the
values themselves.

Definitions (README "Reports"):
- messages_in: customers' inbound messages (platform events such as follow are not messages);
- conversations: threads with at least one inbound message in the bucket; contained: those whose
  messages in the bucket were all answered by the bot (none handed over, ticketed or said while a
  person owned the thread);
- complaints: tickets opened; handoffs: inbox items queued, by reason; first response: from the
  queueing to the first agent reply; resolution: to the inbox item's close (business time);
- sla_breaches: first-response and resolution breaches marked in the bucket;
- csat: ratings given in the bucket; misses: messages answered with a clarify menu, declined,
  or handed over because the bot failed (a handoff of an `nlu_fallback` message).
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.business_time import Calendar
from bot.settings import Settings
from bot.store import sla
from bot.store.models import Account, CsatRating, InboxItem, Message, Thread, Ticket
from bot.store.sla import PRIORITIES

MAX_DAYS = 366
TOP = 10
HANDOFF_REASONS = ("complaint", "requested_human", "bot_failed")
HANDED_OVER = ("handoff", "open_ticket", "append")  # a person had to take the thread
FALLBACK_INTENT = "nlu_fallback"  # the policy's "not sure"; its handoff is the bot failing
MISS_KINDS = ("clarify", "decline", "bot_failed")
RATINGS = (1, 2, 3, 4, 5)
_SAFE_CONSTANT = re.compile(r"^[A-Za-z0-9_/+\- ]+$")  # zone names, offsets, formats


class ReportError(ValueError):
    """A period or account that cannot be reported on; `zh` for the pages and API, str() for the CLI."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


@dataclass(frozen=True)
class Period:
    """Local days `first` to `last`, both included."""

    first: date
    last: date
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ReportError(f"the period starts ({self.first}) after it ends ({self.last})",
                              f"开始日期 {self.first} 晚于结束日期 {self.last}")
        if self.length > MAX_DAYS:
            raise ReportError(f"a report covers at most {MAX_DAYS} days, this period has {self.length}",
                              f"报表最长 {MAX_DAYS} 天，所选期间有 {self.length} 天")

    @property
    def length(self) -> int:
        return (self.last - self.first).days + 1

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.length)]

    def start(self) -> datetime:
        return datetime.combine(self.first, datetime.min.time(), tzinfo=self.zone).astimezone(timezone.utc)

    def end(self) -> datetime:
        """The first moment after the period (local midnight after `last`)."""
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(),
                                tzinfo=self.zone).astimezone(timezone.utc)


def parse_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"--{name} must be a date YYYY-MM-DD, got {text!r}",
                          f"{name} 必须是 YYYY-MM-DD 格式的日期") from None


def period(settings: Settings, first: str | None, last: str | None, now: datetime) -> Period:
    """The period asked for; a missing end is today, a missing start 30 days before the end."""
    zone = ZoneInfo(settings.timezone)
    end = parse_day(last, "to") if last else now.astimezone(zone).date()
    start = parse_day(first, "from") if first else end - timedelta(days=29)
    return Period(start, end, zone)


def percentile(values: list[int], share: float) -> int | None:
    """Nearest-rank percentile (a value that occurred), None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Figures:
    """One bucket's counts (a day, or the whole period)."""

    messages_in: int = 0
    conversations: int = 0
    contained: int = 0
    faq_answered: int = 0
    praise: int = 0
    misses: int = 0
    complaints: Counter = field(default_factory=Counter)  # priority -> tickets
    handoffs: Counter = field(default_factory=Counter)  # reason -> inbox items
    sla_breaches: int = 0
    csat: Counter = field(default_factory=Counter)  # rating -> count
    first_response: list[int] = field(default_factory=list)  # business seconds
    resolution: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        rated = sum(self.csat.values())
        return {
            "messages_in": self.messages_in,
            "conversations": self.conversations,
            "contained": self.contained,
            "contained_rate": round(self.contained / self.conversations, 4) if self.conversations else None,
            "faq_answered": self.faq_answered,
            "complaints": sum(self.complaints.values()),
            "complaints_by_priority": {p: self.complaints[p] for p in PRIORITIES},
            "praise": self.praise,
            "handoffs": {r: self.handoffs[r] for r in sorted(set(HANDOFF_REASONS) | set(self.handoffs))},
            "misses": self.misses,
            "first_response_p50_s": percentile(self.first_response, 0.5),
            "first_response_p90_s": percentile(self.first_response, 0.9),
            "first_response_count": len(self.first_response),
            "resolution_p50_s": percentile(self.resolution, 0.5),
            "resolution_p90_s": percentile(self.resolution, 0.9),
            "resolution_count": len(self.resolution),
            "sla_breaches": self.sla_breaches,
            "csat_avg": round(sum(r * n for r, n in self.csat.items()) / rated, 2) if rated else None,
            "csat_count": rated,
            "csat_distribution": {str(r): self.csat[r] for r in RATINGS},
        }


@dataclass
class Report:
    period: Period
    account: str | None
    total: Figures
    days: dict[date, Figures]
    top_intents: list[dict[str, Any]]
    top_misses: list[dict[str, Any]]
    misses_by_kind: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account, "from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
                "timezone": self.period.zone.key, **self.total.as_json(),
                "misses_by_kind": self.misses_by_kind, "top_intents": self.top_intents,
                "top_misses": self.top_misses,
                "days": [{"date": day.isoformat(), **figures.as_json()} for day, figures in self.days.items()]}

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """The per-day table (and a total row) with nested figures flattened: what the CSV holds."""
        rows = [(day.isoformat(), figures.as_json()) for day, figures in self.days.items()]
        rows.append(("total", self.total.as_json()))
        columns = ["date", *flatten(rows[0][1])]
        return columns, [[label, *flatten(values).values()] for label, values in rows]

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        columns, rows = self.table()
        writer.writerow(columns)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
        return out.getvalue()


def flatten(values: dict[str, Any]) -> dict[str, Any]:
    """{"handoffs": {"complaint": 1}} -> {"handoffs_complaint": 1}: one CSV column per figure."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update({f"{key}_{inner}": number for inner, number in value.items()})
        else:
            flat[key] = value
    return flat


def _offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """[(from_utc, offset seconds)]: the zone's UTC offset and each change of it in [start, end)."""
    def offset(moment: datetime) -> int:
        return int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]

    segments = [(start, offset(start))]
    moment = start
    while moment < end:
        following = min(moment + timedelta(hours=1), end)
        if offset(following) != segments[-1][1]:
            low, high = moment, following  # the change is in (low, high]: bisect to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (low, middle) if offset(middle) != segments[-1][1] else (middle, high)
            segments.append((high, offset(high)))
        moment = following
    return segments


def _constant(text: str) -> ColumnElement[str]:
    """A SQL string written into the statement: PostgreSQL only sees a SELECT's day expression
    and its GROUP BY as the same when no bound parameter differs between them."""
    if not _SAFE_CONSTANT.match(text):
        raise ReportError(f"unexpected text in a report query: {text!r}", "报表查询参数无效")
    return literal_column(f"'{text}'")


def _local_day(session: AsyncSession, column: Any, span: Period) -> ColumnElement[str]:
    """'YYYY-MM-DD' of `column` in the period's zone, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(_constant(span.zone.key), column), _constant("YYYY-MM-DD"))
    segments = _offsets(span.zone, span.start(), span.end())
    shifts = [_constant(f"{seconds:+d} seconds") for _, seconds in segments]
    if len(segments) == 1:
        return func.date(column, shifts[0])
    whens = [(column < segments[n + 1][0], shifts[n]) for n in range(len(segments) - 1)]
    return func.date(column, case(*whens, else_=shifts[-1]))


class _Query:
    """The period, the account filter and the day expression, shared by every figure's query."""

    def __init__(self, session: AsyncSession, span: Period, account_id: int | None) -> None:
        self.session, self.span, self.account_id = session, span, account_id

    def day(self, column: Any) -> ColumnElement[str]:
        return _local_day(self.session, column, self.span)

    def select(self, table: Any, thread_id: Any, *columns: Any) -> Select:
        """SELECT columns FROM table, limited to the account through the row's thread."""
        query = select(*columns).select_from(table)
        if self.account_id is None:
            return query
        return query.join(Thread, Thread.id == thread_id).where(Thread.account_id == self.account_id)

    def within(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.span.start(), column < self.span.end())

    async def rows(self, query: Select) -> list[Any]:
        return list(await self.session.execute(query))

    def inbound(self, *columns: Any) -> Select:
        """Customers' messages of the period (events are not messages)."""
        return self.select(Message, Message.thread_id, *columns).where(
            Message.direction == "in", Message.msg_type != "event", self.within(Message.created_at))


_MISS = or_(Message.action.in_(("clarify", "decline")),
            and_(Message.action == "handoff", Message.intent == FALLBACK_INTENT))
_MISS_KIND = case((Message.action == "handoff", _constant("bot_failed")), else_=Message.action)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


async def _messages(q: _Query, days: dict[date, Figures]) -> None:
    day = q.day(Message.created_at)
    query = q.inbound(day, func.count(), _flag(Message.action == "answer_faq"), _flag(Message.intent == "praise"),
                      _flag(_MISS)).group_by(day)
    for label, count, faq, praise, misses in await q.rows(query):
        figures = days[date.fromisoformat(label)]
        figures.messages_in, figures.faq_answered, figures.praise, figures.misses = count, faq, praise, misses


async def _conversations(q: _Query, by_day: bool) -> list[tuple[str | None, int, int]]:
    """(day or None, conversations, contained): each thread once per day, or once in the period."""
    keys = [q.day(Message.created_at)] if by_day else []
    handed = func.max(case((Message.action.in_(HANDED_OVER), 1), else_=0)).label("handed")
    per_thread = q.inbound(*[key.label("day") for key in keys], Message.thread_id, handed).group_by(
        *keys, Message.thread_id).subquery()
    outer = [per_thread.c.day] if by_day else []
    query = select(*outer, func.count(), func.sum(1 - per_thread.c.handed)).group_by(*outer)
    return [(row[0] if by_day else None, row[-2], row[-1] or 0) for row in await q.rows(query)]


async def _counted(q: _Query, table: Any, column: Any, thread_id: Any, key: Any = None,
                   *where: ColumnElement[bool]) -> list[tuple[str, Any, int]]:
    """(day, key, count) of the rows whose `column` falls in the period."""
    day = q.day(column)
    keys = [day] if key is None else [day, key]
    query = q.select(table, thread_id, *keys, func.count()).where(q.within(column), *where).group_by(*keys)
    return [(row[0], None if key is None else row[1], row[-1]) for row in await q.rows(query)]


async def _durations(q: _Query, settings: Settings) -> list[tuple[str, int | None, int | None]]:
    """(day queued, business seconds to the first agent reply, to the close) per handoff."""
    first_reply = (select(func.min(Message.created_at))
                   .where(Message.thread_id == InboxItem.thread_id, Message.author == "agent",
                          Message.direction == "out", Message.state != "note",
                          Message.created_at >= InboxItem.enqueued_at,
                          or_(InboxItem.closed_at.is_(None), Message.created_at <= InboxItem.closed_at))
                   .correlate(InboxItem).scalar_subquery())
    query = (select(q.day(InboxItem.enqueued_at), Thread.account_id, InboxItem.enqueued_at, first_reply,
                    InboxItem.closed_at)
             .join(Thread, Thread.id == InboxItem.thread_id).where(q.within(InboxItem.enqueued_at)))
    if q.account_id is not None:
        query = query.where(Thread.account_id == q.account_id)
    calendars: dict[int, Calendar] = {}
    result = []
    for label, account_id, queued, replied, closed in await q.rows(query):
        if account_id not in calendars:
            calendars[account_id] = await sla.calendar_for(q.session, settings, account_id)
        cal = calendars[account_id]
        result.append((label, None if replied is None else int(cal.between(queued, replied).total_seconds()),
                       None if closed is None else int(cal.between(queued, closed).total_seconds())))
    return result


async def _top(q: _Query, key: Any, *where: ColumnElement[bool]) -> list[tuple[Any, int]]:
    """The most frequent values of `key` among inbound messages, latest first on a tie."""
    query = q.inbound(key, func.count()).where(*where).group_by(key).order_by(
        func.count().desc(), func.max(Message.created_at).desc()).limit(TOP)
    return [(row[0], row[1]) for row in await q.rows(query)]


async def build(session: AsyncSession, settings: Settings, span: Period, account: Account | None) -> Report:
    """Every figure of the period, per day and in total."""
    q = _Query(session, span, account.id if account else None)
    days = {day: Figures() for day in span.days()}

    def bucket(label: str) -> Figures:
        return days[date.fromisoformat(label)]

    await _messages(q, days)
    for label, count, contained in await _conversations(q, by_day=True):
        bucket(label).conversations, bucket(label).contained = count, contained
    for label, priority, count in await _counted(q, Ticket, Ticket.created_at, Ticket.thread_id, Ticket.priority):
        bucket(label).complaints[priority] += count
    for label, reason, count in await _counted(q, InboxItem, InboxItem.enqueued_at, InboxItem.thread_id,
                                               InboxItem.reason):
        bucket(label).handoffs[reason] += count
    for column in (Ticket.first_response_breached_at, Ticket.resolution_breached_at):
        for label, _, count in await _counted(q, Ticket, column, Ticket.thread_id):
            bucket(label).sla_breaches += count
    for label, rating, count in await _counted(q, CsatRating, CsatRating.rated_at, CsatRating.thread_id,
                                               CsatRating.rating, CsatRating.rating.is_not(None)):
        bucket(label).csat[rating] += count
    for label, first, resolved in await _durations(q, settings):
        bucket(label).first_response += [first] if first is not None else []
        bucket(label).resolution += [resolved] if resolved is not None else []
    total = _summed(days.values())
    (_, total.conversations, total.contained), = await _conversations(q, by_day=False)
    kinds = dict(await _top(q, _MISS_KIND, _MISS))
    return Report(span, account.slug if account else None, total, days,
                  top_intents=[{"intent": i, "count": n} for i, n in await _top(q, Message.intent,
                                                                                Message.intent.is_not(None))],
                  top_misses=[{"text": text, "count": n} for text, n in await _top(q, Message.text, _MISS)],
                  misses_by_kind={kind: kinds.get(kind, 0) for kind in MISS_KINDS})


def _summed(days: Any) -> Figures:
    """The period's figures that are sums of the days' (conversations are not: a thread counts once)."""
    total = Figures()
    for figures in days:
        for name in ("messages_in", "faq_answered", "praise", "misses", "sla_breaches"):
            setattr(total, name, getattr(total, name) + getattr(figures, name))
        for name in ("complaints", "handoffs", "csat"):
            getattr(total, name).update(getattr(figures, name))
        total.first_response += figures.first_response
        total.resolution += figures.resolution
    return total
