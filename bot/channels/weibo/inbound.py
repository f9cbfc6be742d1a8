"""Weibo fan-service platform (粉丝服务平台), inbound: signatures, JSON pushes, passive replies.

Follows docs/protocols.md (Weibo part). Pushes are signed like WeChat's but with the
app secret; the body is JSON. Ids are int64 and kept as strings (a float would lose
digits). There is no message id, so the dedupe key is the sender, time, type and a hash of
text and data. The core only ever sees a platform-free InboundMessage; a public @mention
is marked `public`, never "weibo".
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from bot.channels import signed_push
from bot.channels.signed_push import WebhookError, check_signature, fits_columns, platform_id, split_text
from bot.conversation.messages import InboundMessage
from bot.untrusted import load_json

PLATFORM = "weibo"
MAX_REPLY_CHARS = 300  # protocols.md: "text under 300 characters"
MAX_CREATED_AT = 64
# Weibo event subtypes -> the platform-free events the conversation knows
EVENTS = {"follow": "subscribe", "scan_follow": "subscribe", "unfollow": "unsubscribe", "click": "click",
          "scan": "scan", "view": "view",
          # Weibo's (un)subscribe are about message subscriptions, not following: kept, no action
          "subscribe": "message_subscribe", "unsubscribe": "message_unsubscribe"}
MEDIA_LABELS = {"image": "[图片]", "voice": "[语音]"}


@dataclass(frozen=True)
class Credentials:
    app_secret: str
    access_token: str
    uid: str | None = None  # the account's own Weibo uid (receiver_id of its pushes), if known


@dataclass(frozen=True)
class Push:
    """One verified, decoded push and who to answer: the fan, from the account."""

    message: InboundMessage
    account_uid: str  # receiver_id
    fan_uid: str  # sender_id


def verify_url(credentials: Credentials, query: dict[str, str], replay_window: int = 0) -> str:
    """The GET check of the server URL (signed with the app secret): answer `echostr`."""
    return signed_push.verify_url(credentials.app_secret, query, replay_window)


def _id(fields: dict[str, Any], name: str) -> str:
    """A 64-bit id as a string; JSON numbers and digit strings are both accepted."""
    value = fields.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise WebhookError(400, f"{name} must be an integer id")
    return platform_id(str(value), name)


def _text(fields: dict[str, Any], name: str, limit: int | None = None) -> str:
    value = fields.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WebhookError(400, f"field {name} must be text")
    if limit is not None and len(value) > limit:
        raise WebhookError(400, f"field {name} is too long")
    return value


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        fields = load_json(body.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise WebhookError(400, f"malformed JSON: {exc}"[:200]) from None
    if not isinstance(fields, dict):
        raise WebhookError(400, "the push must be a JSON object")
    return fields


def _data(fields: dict[str, Any]) -> dict[str, Any]:
    data = fields.get("data")
    if data in (None, ""):
        return {}
    if not isinstance(data, dict):
        raise WebhookError(400, "field data must be an object")
    return data


def dedupe_key(account_uid: str, fan_uid: str, created_at: str, msg_type: str, text: str,
               data: dict[str, Any]) -> str:
    """No message id on Weibo: sender + time + type + hash(text, data), per account."""
    content = json.dumps([created_at, msg_type, text, data], ensure_ascii=False, sort_keys=True)
    return f"weibo:{account_uid}:{fan_uid}:{hashlib.sha256(content.encode()).hexdigest()[:40]}"


def _label(data: dict[str, Any], *names: str) -> str:
    return " ".join(f"{name}={data[name]}" for name in names if isinstance(data.get(name), (str, int, float)))


def to_inbound(slug: str, fields: dict[str, Any], received_at: datetime) -> tuple[InboundMessage, str]:
    """Map every Weibo push type onto the platform-free message; also the account's uid."""
    push_type = _text(fields, "type", 32).lower()
    if not push_type:
        raise WebhookError(400, "type is required")
    fan, account = _id(fields, "sender_id"), _id(fields, "receiver_id")
    created_at = _text(fields, "created_at", MAX_CREATED_AT)
    text, data = _text(fields, "text"), _data(fields)
    common: dict[str, Any] = {"platform": PLATFORM, "account": slug, "sender": fan, "raw": fields,
                              "received_at": received_at,
                              "dedupe_key": dedupe_key(account, fan, created_at, push_type, text, data)}
    if push_type in ("text", "mention"):
        # a mention is said in a public post: answered like a message, but others read it
        return InboundMessage(text=text, public=push_type == "mention", **common), account
    if push_type == "event":
        subtype = str(data.get("subtype", "")).lower()
        key = data.get("key") or data.get("ticket")
        return InboundMessage(msg_type="event", event=EVENTS.get(subtype, subtype or "unknown"),
                              event_key=str(key) if key is not None else None, text=text, **common), account
    if push_type == "position":
        label = f"[位置] ({data.get('longitude', '')}, {data.get('latitude', '')})"
        return InboundMessage(msg_type="location", text=label, **common), account
    if push_type in MEDIA_LABELS:  # stored by their fid, which agents see in the text
        label = f"{MEDIA_LABELS[push_type]} {_label(data, 'vfid', 'tovfid')}".strip()
        return InboundMessage(msg_type=push_type, text=label, **common), account
    # a type this bot does not know: stored and acknowledged, never an error
    return InboundMessage(msg_type="unknown", text=f"[{push_type}]", **common), account


def parse_push(credentials: Credentials, slug: str, query: dict[str, str], body: bytes,
               replay_window: int = 600) -> Push:
    """Verify and decode one POST."""
    check_signature(credentials.app_secret, query, replay_window)
    message, account = to_inbound(slug, _parse_json(body), datetime.now(timezone.utc))
    fits_columns(message)
    if credentials.uid and account != credentials.uid:
        raise WebhookError(403, "push for another Weibo account (receiver_id is not this account's uid)")
    return Push(message=message, account_uid=account, fan_uid=message.sender)


def encode_data(data: dict[str, Any]) -> str:
    """`data` of replies: URL-encoded JSON (protocols.md), UTF-8 and not \\u-escaped."""
    return quote(json.dumps(data, ensure_ascii=False, separators=(",", ":")), safe="")


def split_reply(text: str) -> list[str]:
    """Parts short enough for one Weibo message (the first is the passive reply)."""
    return split_text(text, MAX_REPLY_CHARS)


def shorten_reply(text: str) -> list[str]:
    """One part only, cut with an ellipsis: after a mention the platform allows a single
    reply through the API, which is kept for the agent rather than spent on a remainder."""
    return [text if len(text) <= MAX_REPLY_CHARS else text[:MAX_REPLY_CHARS - 1] + "…"]


def render_reply(push: Push, text: str) -> str:
    """The passive text reply, as the response body."""
    return json.dumps({"result": True, "sender_id": push.account_uid, "receiver_id": push.fan_uid,
                       "type": "text", "data": encode_data({"text": text})}, ensure_ascii=False)
