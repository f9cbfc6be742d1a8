"""Examples of conversation intents (complain, out_of_scope, ...) admins add from the misses page;
the rest of those intents' examples are the repository's nlu_data/conversation.yml."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import IntentExample


async def add(session: AsyncSession, intent: str, text: str, actor: str, now: datetime) -> IntentExample:
    found = (await session.execute(select(IntentExample).where(IntentExample.intent == intent,
                                                               IntentExample.text == text))).scalar_one_or_none()
    if found is None:
        found = IntentExample(intent=intent, text=text, added_by=actor, created_at=now)
        session.add(found)
        await session.flush()
    return found


async def by_intent(session: AsyncSession) -> dict[str, list[str]]:
    """Every added example by intent, oldest first (a stable training-data order)."""
    rows = await session.execute(select(IntentExample.intent, IntentExample.text).order_by(IntentExample.id))
    grouped: dict[str, list[str]] = defaultdict(list)
    for intent, text in rows:
        grouped[intent].append(text)
    return dict(grouped)
