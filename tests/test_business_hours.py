"""What consumers are told about business hours: the account calendar's open/next-opening/label."""
from dataclasses import replace
from datetime import date, datetime, time, timezone

from zoneinfo import ZoneInfo

from bot.business_time import calendar
from bot.settings import Settings

SETTINGS = replace(Settings.from_env({}), business_hours=(time(9), time(18)), business_days=(1, 2, 3, 4, 5),
                   timezone="Asia/Shanghai")
WEEKDAYS = calendar(SETTINGS)


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_open_and_closed():
    assert WEEKDAYS.is_open(shanghai(1, 10))  # Tuesday 10:00
    assert WEEKDAYS.is_open(shanghai(1, 9))  # opening minute
    assert not WEEKDAYS.is_open(shanghai(1, 18))  # closing minute
    assert not WEEKDAYS.is_open(shanghai(1, 18, 30))
    assert not WEEKDAYS.is_open(shanghai(5, 10))  # Saturday


def test_next_opening_skips_the_weekend():
    friday_night = shanghai(4, 20)
    opening = WEEKDAYS.next_opening(friday_night)
    assert opening.astimezone(timezone.utc) == datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)  # Mon 09:00
    assert WEEKDAYS.describe_opening(opening, friday_night) == "12月7日 09:00"
    assert WEEKDAYS.describe_opening(WEEKDAYS.next_opening(shanghai(1, 7)), shanghai(1, 7)) == "今天 09:00"
    assert WEEKDAYS.describe_opening(WEEKDAYS.next_opening(shanghai(1, 20)), shanghai(1, 20)) == "明天 09:00"
    assert WEEKDAYS.next_opening(shanghai(1, 10)) == shanghai(1, 10)


def test_account_hours_and_holidays():
    own = calendar(SETTINGS, "10:00-16:00 2-6", frozenset({date(2026, 12, 2), date(2026, 12, 3)}))
    assert own.hours_label() == "周二至周六 10:00-16:00" and WEEKDAYS.hours_label() == "周一至周五 09:00-18:00"
    assert calendar(SETTINGS, "10:00-16:00 1,3,5").hours_label() == "周一、周三、周五 10:00-16:00"
    assert calendar(SETTINGS, "08:30-20:00 1-7").hours_label() == "每天 08:30-20:00"
    assert not own.is_open(shanghai(1, 9, 30)) and own.is_open(shanghai(1, 10))
    assert not own.is_open(shanghai(2, 11))  # a holiday, though a working day and within hours
    assert own.is_open(shanghai(5, 11))  # Saturday is one of its days
    assert not own.is_open(shanghai(7, 11))  # Monday is not
    # Tuesday evening -> past the holidays Wed 2nd and Thu 3rd -> Friday 10:00
    assert own.next_opening(shanghai(1, 17)) == shanghai(4, 10)
    # Saturday evening -> Sunday and Monday are not its days -> Tuesday 10:00
    assert own.next_opening(shanghai(5, 17)) == shanghai(8, 10)
    # the deployment's calendar still skips the weekend only
    assert WEEKDAYS.next_opening(shanghai(1, 20)) == shanghai(2, 9)
