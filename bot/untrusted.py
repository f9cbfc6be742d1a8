"""Strict readings of values that come from outside: platform pushes, browsers, API clients.

Python's own parsers are generous in ways that turn hostile input into crashes later:
`str.isdigit()` and `int()` accept '²', '١٢٣' and '１２３' (and int() also ' 7' and '1_0'),
`json.loads` accepts NaN and Infinity (which PostgreSQL's JSON refuses at write time) and
recurses once per nesting level, and `hmac.compare_digest` raises TypeError for a non-ASCII
str. Every edge uses these instead, so a bad value is a clear 4xx before anything is stored.
"""
from __future__ import annotations

import hmac
import json
import math
from typing import Any

UINT64_MAX = 2**64 - 1  # platform ids (WeChat MsgId, Weibo uids) fit in 64 bits
DB_ID_MAX = 2**31 - 1  # our own ids: PostgreSQL `integer` columns
MAX_JSON_DEPTH = 32  # no push or API body nests deeper; parsing stops long before recursion does


def ascii_int(text: object, maximum: int) -> int | None:
    """The value of `text` if it is ASCII digits only and at most `maximum`, else None."""
    if not isinstance(text, str) or not text or not (text.isascii() and text.isdigit()):
        return None
    if len(text.lstrip("0")) > len(str(maximum)):  # before int(): a 5,000-digit string costs nothing
        return None
    value = int(text)
    return value if value <= maximum else None


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two strings, whatever characters `given` holds."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def load_json(text: str | bytes) -> Any:
    """Strict JSON: finite numbers only, nested at most MAX_JSON_DEPTH; ValueError otherwise."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    pending = [(value, 1)]
    while pending:  # a loop, not recursion: the check must not fail the way the parser can
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= MAX_JSON_DEPTH:
                    raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
                pending.append((child, depth + 1))
    return value
