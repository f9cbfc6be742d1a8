"""Platform-free messages: what every channel adapter produces and consumes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.store.models import Customer, Message


@dataclass(frozen=True)
class InboundMessage:
    platform: str
    account: str  # account slug
    sender: str  # the platform's id of the customer (openid, Weibo uid, console id)
    text: str = ""
    msg_type: str = "text"  # text | image | voice | video | location | link | event | unknown
    dedupe_key: str | None = None
    event: str | None = None  # subscribe, unsubscribe, click, ... for msg_type "event"
    event_key: str | None = None  # a menu key, a QR scene
    raw: dict[str, Any] | None = None
    received_at: datetime | None = None
    # said in public (a mention in a post), not in a private chat: others read it too
    public: bool = False


# the columns that hold an inbound message's platform-given strings, and their lengths
COLUMN_LENGTHS = {"sender": Customer.__table__.c.external_id.type.length,
                  "msg_type": Message.__table__.c.msg_type.type.length,
                  "dedupe_key": Message.__table__.c.dedupe_key.type.length}


def oversized(message: InboundMessage) -> str | None:
    """The first field too long for its column, if any (SQLite would store it, PostgreSQL refuse it)."""
    for name, length in COLUMN_LENGTHS.items():
        value = getattr(message, name)
        if value is not None and len(value) > length:
            return name
    return None


@dataclass
class Outcome:
    """What happened to one inbound message, as `carebot chat --json` prints it."""

    text: str
    intent: str | None
    confidence: float | None
    action: str
    replies: list[str]
    ticket: str | None
    owner: str
    duplicate: bool = False
    # the stored outbound replies: ids and delivery states (pending until a channel claims them)
    reply_ids: list[int] = field(default_factory=list)
    reply_states: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "intent": self.intent, "confidence": self.confidence,
                "action": self.action, "replies": self.replies, "ticket": self.ticket,
                "owner": self.owner}
