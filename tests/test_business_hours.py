from dataclasses import replace
from datetime import datetime, time, timezone

from zoneinfo import ZoneInfo

from bot.business_hours import describe_opening, is_open, next_opening
from bot.settings import Settings

WEEKDAYS = replace(Settings.from_env({}), business_hours=(time(9), time(18)), business_days=(1, 2, 3, 4, 5))


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_open_and_closed():
    assert is_open(shanghai(1, 10), WEEKDAYS)  # Tuesday 10:00
    assert not is_open(shanghai(1, 18, 30), WEEKDAYS)
    assert not is_open(shanghai(5, 10), WEEKDAYS)  # Saturday


def test_next_opening_skips_the_weekend():
    friday_night = shanghai(4, 20)
    opening = next_opening(friday_night, WEEKDAYS)
    assert opening.astimezone(timezone.utc) == datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)  # Mon 09:00
    assert describe_opening(opening, friday_night, WEEKDAYS) == "12月7日 09:00"
    assert describe_opening(next_opening(shanghai(1, 7), WEEKDAYS), shanghai(1, 7), WEEKDAYS) == "今天 09:00"
    assert next_opening(shanghai(1, 10), WEEKDAYS) == shanghai(1, 10)
