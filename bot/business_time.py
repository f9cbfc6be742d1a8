"""Business time: SLA targets count only the hours agents work, not nights, weekends or holidays,
and the replies to consumers (closed handoffs, "are you a robot?") tell the same calendar.

An account may have its own hours and holidays (`carebot account hours|holidays`); without
them the deployment's CAREBOT_BUSINESS_HOURS/DAYS apply. All arithmetic is on aware
datetimes; each working day is turned into one UTC interval, so a zone with daylight saving
time still gets its local opening hours.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.settings import Settings

MAX_DAYS = 3660  # ten years without a working day means the calendar is broken
_WEEKDAYS = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}
_HOURS = re.compile(r"^(\d{2}:\d{2})-(\d{2}:\d{2})(?:\s+([1-7](?:-[1-7])?(?:,[1-7](?:-[1-7])?)*))?$")


class CalendarError(ValueError):
    """A business-hours text or calendar that cannot work; the message says how to fix it."""


@dataclass(frozen=True)
class Calendar:
    zone: ZoneInfo
    opens: time
    closes: time
    days: frozenset[int]  # ISO weekdays, 1 = Monday
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise CalendarError(f"business hours must close after they open: {self.opens:%H:%M}-{self.closes:%H:%M}")
        if not self.days:
            raise CalendarError("business days name no working day")

    def hours_label(self) -> str:
        """"每天 09:00-21:00", "周一至周五 09:00-18:00", "周一、周三、周五 09:00-18:00": the working
        days and hours as consumers are told them (bot_challenge, closed handoffs)."""
        days = sorted(self.days)
        if len(days) == 7:
            when = "每天"
        elif len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            when = f"{_WEEKDAYS[days[0]]}至{_WEEKDAYS[days[-1]]}"
        else:
            when = "、".join(_WEEKDAYS[day] for day in days)
        return f"{when} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def next_opening(self, now: datetime) -> datetime:
        """The next moment agents are at work (`now` itself if they are), past nights, days off
        and holidays: zero business time from `now`, so replies promise what SLA clocks count."""
        return self.add(now, timedelta(0))

    def is_open(self, now: datetime) -> bool:
        return self.next_opening(now) == now

    def describe_opening(self, moment: datetime, now: datetime) -> str:
        """"今天 09:00" / "明天 09:00" / "12月3日 09:00": consumers read the account's local time."""
        day, today = moment.astimezone(self.zone).date(), now.astimezone(self.zone).date()
        clock = moment.astimezone(self.zone).strftime("%H:%M")
        if day == today:
            return f"今天 {clock}"
        if day == today + timedelta(days=1):
            return f"明天 {clock}"
        return f"{day.month}月{day.day}日 {clock}"

    def _intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals (UTC) from the local day of `start` on."""
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            if day.isoweekday() in self.days and day not in self.holidays:
                yield (datetime.combine(day, self.opens, tzinfo=self.zone),
                       datetime.combine(day, self.closes, tzinfo=self.zone))
            day += timedelta(days=1)
        raise CalendarError("no working day in ten years (every day a holiday?)")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of business time after `start`."""
        left = duration
        for opens, closes in self._intervals(start):
            begin = max(opens, start)
            if begin >= closes:
                continue
            if begin + left <= closes:
                return begin + left
            left -= closes - begin
        raise AssertionError("unreachable: _intervals raises first")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end` (zero when end is not later)."""
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self._intervals(start):
            if opens >= end:
                return total
            begin, finish = max(opens, start), min(closes, end)
            if finish > begin:
                total += finish - begin
        return total


def parse_hours(text: str) -> tuple[time, time, frozenset[int] | None]:
    """"09:00-18:00" or "09:00-18:00 1-5" or "09:00-18:00 1,2,3,6-7" (days: 1 = Monday)."""
    match = _HOURS.match(text.strip())
    if not match:
        raise CalendarError(f"business hours must look like 09:00-18:00 or 09:00-18:00 1-5, got {text!r}")
    try:
        opens, closes = time.fromisoformat(match.group(1)), time.fromisoformat(match.group(2))
    except ValueError:
        raise CalendarError(f"not a time of day in {text!r}") from None
    days: set[int] | None = None
    if match.group(3):
        days = set()
        for part in match.group(3).split(","):
            first, _, last = part.partition("-")
            days.update(range(int(first), int(last or first) + 1))
    if closes <= opens:
        raise CalendarError(f"business hours must close after they open, got {text!r}")
    return opens, closes, frozenset(days) if days is not None else None


def calendar(settings: Settings, account_hours: str | None = None,
             holidays: frozenset[date] = frozenset()) -> Calendar:
    """The account's calendar: its own hours if set, else the deployment's."""
    opens, closes = settings.business_hours
    days = frozenset(settings.business_days)
    if account_hours:
        opens, closes, own_days = parse_hours(account_hours)
        days = own_days or days
    return Calendar(ZoneInfo(settings.timezone), opens, closes, days, holidays)
