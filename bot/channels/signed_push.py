"""What WeChat's and Weibo's pushes share: a refused push, and the sorted-SHA1 signature.

Both platforms sign every request as sha1 of the sorted secret, timestamp and nonce
(WeChat's secret is a chosen token, Weibo's the app secret); the comparison is constant
time and a stale timestamp is refused, so a captured push cannot be replayed later.
"""
from __future__ import annotations

import hashlib
import time

from bot.conversation.messages import InboundMessage, oversized
from bot.untrusted import UINT64_MAX, ascii_int, same_secret


class WebhookError(Exception):
    """A push we refuse: `status` is the HTTP status (400 malformed, 403 not from the platform)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def require(query: dict[str, str], *names: str) -> list[str]:
    values = [query.get(name, "") for name in names]
    if not all(values):
        raise WebhookError(403, f"missing {', '.join(n for n, v in zip(names, values) if not v)}")
    return values


def check_signature(secret: str, query: dict[str, str], replay_window: int, now: float | None = None) -> None:
    signature, timestamp, nonce = require(query, "signature", "timestamp", "nonce")
    if not same_secret(signature.lower(), sha1_signature(secret, timestamp, nonce)):
        raise WebhookError(403, "bad signature")
    if replay_window > 0:
        seconds = ascii_int(timestamp, UINT64_MAX)
        if seconds is None:
            raise WebhookError(403, "timestamp is not a number")
        if abs((now or time.time()) - seconds) > replay_window:
            raise WebhookError(403, "timestamp outside the replay window")


def platform_id(value: str, name: str) -> str:
    """A platform's numeric id (WeChat MsgId, Weibo uid): ASCII digits within 64 bits, else 400."""
    if ascii_int(value, UINT64_MAX) is None:
        raise WebhookError(400, f"{name} must be an integer id (ASCII digits, 64 bits)")
    return value


def fits_columns(message: InboundMessage) -> InboundMessage:
    """The message, if it fits the columns it is stored in (PostgreSQL would refuse it at write
    time, after the push was taken); else 400."""
    field = oversized(message)
    if field is not None:
        raise WebhookError(400, f"{field} is too long")
    return message


def verify_url(secret: str, query: dict[str, str], replay_window: int = 0) -> str:
    """The GET check of the server URL: answer `echostr` when the signature matches."""
    check_signature(secret, query, replay_window)
    return require(query, "echostr")[0]


def split_text(text: str, limit: int, width=len) -> list[str]:
    """Cut a reply into parts of at most `limit` (measured by `width` per character),
    never inside a character."""
    parts, current, size = [], [], 0
    for char in text:
        char_width = width(char)
        if size + char_width > limit and current:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += char_width
    if current or not parts:
        parts.append("".join(current))
    return parts
