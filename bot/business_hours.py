"""When human agents work: used for the replies to handoffs and for SLA due times."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.settings import Settings


def is_open(now: datetime, settings: Settings) -> bool:
    local = now.astimezone(ZoneInfo(settings.timezone))
    start, end = settings.business_hours
    return local.isoweekday() in settings.business_days and start <= local.time() < end


def next_opening(now: datetime, settings: Settings) -> datetime:
    """The next moment agents are at work (now, if they are)."""
    if is_open(now, settings):
        return now
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    start = settings.business_hours[0]
    for days in range(0, 8):
        day = (local + timedelta(days=days)).date()
        candidate = datetime.combine(day, start, tzinfo=zone)
        if candidate > local and candidate.isoweekday() in settings.business_days:
            return candidate
    raise ValueError("CAREBOT_BUSINESS_DAYS names no working day")


def describe_opening(moment: datetime, now: datetime, settings: Settings) -> str:
    """"今天 09:00" / "明天 09:00" / "12月3日 09:00", in the account's local time."""
    zone = ZoneInfo(settings.timezone)
    day = moment.astimezone(zone).date()
    today = now.astimezone(zone).date()
    clock = moment.astimezone(zone).strftime("%H:%M")
    if day == today:
        return f"今天 {clock}"
    if day == today + timedelta(days=1):
        return f"明天 {clock}"
    return f"{day.month}月{day.day}日 {clock}"
