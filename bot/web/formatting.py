"""Template filters: times and durations as agents read them (local time, Chinese units)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2


def duration(seconds: int | float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} 秒"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时 {minutes} 分"
    return f"{hours // 24} 天 {hours % 24} 小时"


def install(env: jinja2.Environment, timezone: str) -> None:
    zone = ZoneInfo(timezone)

    def local(moment: datetime | str | None, pattern: str = "%m-%d %H:%M") -> str:
        if isinstance(moment, str):  # ISO text, as in the API's JSON
            moment = datetime.fromisoformat(moment)
        return moment.astimezone(zone).strftime(pattern) if moment else ""

    env.filters["duration"] = duration
    env.filters["local"] = local
