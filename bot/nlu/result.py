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
    # the share of the text's content words that some training example used (None: it has none,
    # or the model predates the measure)
    familiar: float | None = None
    # the text's content words that the best intent, an FAQ, was itself taught in (its examples and answer)
    faq_words: tuple[str, ...] = ()
    # the tone model's probabilities {complaint, praise}; None when the model has no tone model
    tone: dict[str, float] | None = None
    # the thresholds the model's own cross-validation set: {answer_threshold, oos_similarity, oos_ratio}
    calibration: dict[str, float] = field(default_factory=dict)

    @property
    def complaint_tone(self) -> float:
        return (self.tone or {}).get("complaint", 0.0)

    @property
    def praise_tone(self) -> float:
        return (self.tone or {}).get("praise", 0.0)

    @classmethod
    def from_worker(cls, data: dict[str, Any], calibration: dict[str, float] | None = None) -> "Parse":
        nearest = data.get("nearest") or {}
        return cls(intent=data["intent"], confidence=float(data["confidence"]),
                   ranking=list(data.get("ranking") or []), nearest_intent=nearest.get("intent"),
                   similarity=float(nearest.get("similarity") or 0.0), familiar=nearest.get("familiar"),
                   faq_words=tuple(nearest.get("faq_words") or ()),
                   tone=data.get("tone"),
                   calibration=dict(calibration or {}))
