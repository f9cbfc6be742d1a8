"""Reading `CAREBOT_*` variables: the optional `.env` file, and one parser per field type.

A field's type, as written in its settings group, picks its parser (`PARSERS`), so a new
setting of a known type needs no parsing code.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def read_dotenv(path: Path) -> dict[str, str]:
    """A minimal `.env` reader: KEY=VALUE lines, `#` comments, optional quotes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def normalise_database_url(url: str) -> str:
    """Accept the usual sync URLs and map them onto the async drivers the service uses."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def _parse_hours(value: str) -> tuple[time, time]:
    start, _, end = value.partition("-")
    try:
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError as exc:
        raise ValueError(f"CAREBOT_BUSINESS_HOURS must look like 09:00-21:00, got {value!r}") from exc


def _as_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"CAREBOT_{name.upper()} must be an integer, got {value!r}") from exc


def _as_float(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"CAREBOT_{name.upper()} must be a number, got {value!r}") from exc


def _as_words(name: str, value: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in value.split(",") if word.strip())


def _as_flag(name: str, value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off")


def _as_days(name: str, value: str) -> tuple[int, ...]:
    return tuple(_as_int(name, day) for day in value.split(","))


# a field's type (as written in its group) -> how its environment variable is read
PARSERS: dict[str, Callable[[str, str], Any]] = {
    "str": lambda name, value: value, "int": _as_int, "float": _as_float, "float | None": _as_float,
    "bool": _as_flag, "tuple[str, ...]": _as_words, "tuple[int, ...]": _as_days,
    "tuple[time, time]": lambda name, value: _parse_hours(value),
}
# types whose variable, set but empty, means "the default" (e.g. CAREBOT_BUSINESS_HOURS=)
BLANK_IS_UNSET = {"tuple[int, ...]", "tuple[time, time]"}
