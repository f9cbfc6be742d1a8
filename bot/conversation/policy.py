"""The decision policy: from what the model understood to what the bot does.

Pure functions over plain values, so every rule is unit-tested without a model or a
database. Thresholds and keyword lists come from `Settings`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bot.nlu.result import Parse
from bot.nlu.names import is_faq
from bot.settings import Settings

SMALLTALK = ("greet", "thanks", "goodbye", "bot_challenge")
FALLBACK = "nlu_fallback"


@dataclass(frozen=True)
class ThreadState:
    owner: str = "bot"
    misunderstandings: int = 0
    clarify_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    action: str  # answer_faq | open_ticket | handoff | ticket_status | clarify | decline | smalltalk
    intent: str  # reported intent: a catalogue name or nlu_fallback
    confidence: float | None
    faq: str | None = None  # the FAQ to answer
    reason: str | None = None  # handoff reason: complaint | requested_human | bot_failed
    priority: str = "normal"
    options: tuple[str, ...] = field(default_factory=tuple)  # clarify menu (FAQ names)


def mentions(text: str, words: tuple[str, ...]) -> bool:
    return any(word and word in text for word in words)


def complaint_priority(text: str, settings: Settings, public: bool = False) -> str:
    """Threats of exposure or legal action, and health or safety, are urgent; so is, by
    default, a complaint made in public (others read it, and it spreads)."""
    if mentions(text, settings.urgent_keywords) or mentions(text, settings.safety_keywords):
        return "urgent"
    return settings.public_complaint_priority if public else "high"


def resolve_intent(parse: Parse, text: str, settings: Settings) -> tuple[str, float]:
    """The intent the policy acts on, after the out-of-scope and complaint safety nets.

    DIET is over-confident on text unlike its training data, so a low similarity to the
    nearest training example overrides it (a second, independent signal). Complaint
    keywords catch complaints the model missed: a missed complaint is the worst error.
    """
    intent, confidence = parse.intent, parse.confidence
    asks_status = intent == "ticket_status" and confidence >= settings.intent_threshold
    if intent != "request_human" and not asks_status and (
        mentions(text, settings.complaint_keywords)
        or mentions(text, settings.urgent_keywords)
        or mentions(text, settings.safety_keywords)
    ):
        return "complain", max(confidence, settings.intent_threshold)
    if intent != "out_of_scope" and parse.similarity < settings.oos_similarity:
        return "out_of_scope", 1.0 - parse.similarity
    threshold = settings.faq_threshold if is_faq(intent) else settings.intent_threshold
    if intent == "out_of_scope":
        return intent, confidence  # unsure or not, the polite decline fits: never a menu of FAQs
    if confidence < threshold:
        return FALLBACK, confidence
    return intent, confidence


def pick_option(text: str, state: ThreadState) -> str | None:
    """A reply of "1"/"2"/"3" to the last clarify menu picks that FAQ."""
    stripped = text.strip().rstrip(".")
    if state.clarify_options and stripped.isdigit() and 1 <= int(stripped) <= len(state.clarify_options):
        return state.clarify_options[int(stripped) - 1]
    return None


def decide(parse: Parse | None, text: str, state: ThreadState, settings: Settings,
           known_faqs: frozenset[str], public: bool = False) -> Decision:
    """Decide for a thread the bot owns. `parse` is None when there was nothing to read;
    `public`: the message was said in public (a mention)."""
    picked = pick_option(text, state)
    if picked is not None:
        return Decision("answer_faq", picked, 1.0, faq=picked)
    if parse is None:
        return Decision("decline", "out_of_scope", None)
    intent, confidence = resolve_intent(parse, text, settings)
    if is_faq(intent) and intent not in known_faqs:
        intent = FALLBACK  # the model knows an FAQ an admin has since deleted
    if intent == FALLBACK:
        if state.misunderstandings + 1 >= settings.max_misunderstandings:
            return Decision("handoff", intent, confidence, reason="bot_failed")
        options = tuple(r["name"] for r in parse.ranking if r["name"] in known_faqs)
        return Decision("clarify", intent, confidence, options=options[: settings.clarify_options])
    if is_faq(intent):
        return Decision("answer_faq", intent, confidence, faq=intent)
    if intent == "complain":
        return Decision("open_ticket", intent, confidence, reason="complaint",
                        priority=complaint_priority(text, settings, public))
    if intent == "request_human":
        return Decision("handoff", intent, confidence, reason="requested_human")
    if intent == "ticket_status":
        return Decision("ticket_status", intent, confidence)
    if intent in SMALLTALK:
        return Decision("smalltalk", intent, confidence)
    return Decision("decline", "out_of_scope", confidence)
