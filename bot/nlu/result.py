"""What the NLU worker understood of one text, as the service sees it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
