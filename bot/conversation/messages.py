"""Platform-free messages: what every channel adapter produces and consumes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class InboundMessage:
    platform: str
    account: str  # account slug
    sender: str  # the platform's id of the customer (openid, Weibo uid, console id)
    text: str = ""
    msg_type: str = "text"  # text | image | voice | video | location | link | event
    dedupe_key: str | None = None
    event: str | None = None  # subscribe, unsubscribe, click, ... for msg_type "event"
    raw: dict[str, Any] | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class Parse:
    """What the NLU worker understood of one normalised text."""

    intent: str
    confidence: float
    ranking: list[dict[str, Any]] = field(default_factory=list)
    nearest_intent: str | None = None
    similarity: float = 0.0

    @classmethod
    def from_worker(cls, data: dict[str, Any]) -> "Parse":
        nearest = data.get("nearest") or {}
        return cls(intent=data["intent"], confidence=float(data["confidence"]),
                   ranking=list(data.get("ranking") or []), nearest_intent=nearest.get("intent"),
                   similarity=float(nearest.get("similarity") or 0.0))


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

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "intent": self.intent, "confidence": self.confidence,
                "action": self.action, "replies": self.replies, "ticket": self.ticket,
                "owner": self.owner}
