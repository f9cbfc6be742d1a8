"""What a decided message leaves behind: its row, its replies' rows and the caller's Outcome
(also a retry's, from the stored rows).

pipeline.py stores a message in one of two ways: alone, through the ORM unit of work (any
message), or with a group of plain FAQ answers in a few bulk statements (the common case,
store/grouped.py). Both build their rows and outcomes with these functions, so the bulk path
stays an optimisation of the same decision, not a second copy of it.
"""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from bot.conversation.messages import InboundMessage, Outcome
from bot.conversation.policy import Decision
from bot.nlu.result import Parse
from bot.store.models import Message


def storable(text: str) -> str:
    """The original text, except NUL (PostgreSQL text cannot hold it), which becomes U+FFFD."""
    return text.replace("\x00", "\ufffd")


def inbound(message: InboundMessage, thread_id: int, now: datetime) -> dict[str, Any]:
    """The customer's message as received (not decided yet)."""
    return {"thread_id": thread_id, "direction": "in", "author": "customer", "msg_type": message.msg_type,
            "text": storable(message.text), "raw": message.raw, "dedupe_key": message.dedupe_key,
            "created_at": now, "state": "received"}


def decided(action: str, decision: Decision | None, parse: Parse | None) -> dict[str, Any]:
    """What the decision adds to the inbound row (every column, so bulk rows share their keys)."""
    return {"state": "handled", "action": action,
            "intent": decision.intent if decision else None,
            "confidence": decision.confidence if decision else None,
            "ranking": parse.ranking if parse else None}


def missed(action: str, decision: Decision | None) -> str | None:
    """The kind of miss a decision is (what the admins' misses page lists), or None: the bot
    offered a clarify menu, declined, or gave the thread to people because it failed."""
    if action in ("clarify", "decline"):
        return action
    if action == "handoff" and decision is not None and decision.reason == "bot_failed":
        return "bot_failed"
    return None


def reply_state(passive_until: float | None) -> str:
    """`passive` if the caller can still answer in its own response (a loop time), else `pending`."""
    in_time = passive_until is not None and asyncio.get_running_loop().time() < passive_until
    return "passive" if in_time else "pending"


def replies(thread_id: int, inbound_id: int, texts: list[str], action: str, now: datetime,
            state: str) -> list[dict[str, Any]]:
    return [{"thread_id": thread_id, "direction": "out", "author": "bot", "text": text, "reply_to_id": inbound_id,
             "action": action, "created_at": now, "state": state} for text in texts]


def outcome(text: str, row: dict[str, Any], texts: list[str], reply_ids: list[int], state: str, *,
            owner: str, ticket: str | None = None) -> Outcome:
    """What the caller gets for the message whose decided columns are `row`."""
    return Outcome(text=text, intent=row["intent"], confidence=row["confidence"], action=row["action"],
                   replies=texts, ticket=ticket, owner=owner, reply_ids=reply_ids,
                   reply_states=[state] * len(reply_ids))


def retried(stored: Message, replies: list[Message], owner: str) -> Outcome:
    """What a retry of a stored, decided message gets: the stored replies again."""
    return Outcome(text=stored.text, intent=stored.intent, confidence=stored.confidence,
                   action=stored.action or "pending", replies=[r.text for r in replies], ticket=None, owner=owner,
                   duplicate=True, reply_ids=[r.id for r in replies], reply_states=[r.state for r in replies])
