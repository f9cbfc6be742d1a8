"""What the bot says it can help with, in the welcome, the greeting and the polite decline: questions
of the live FAQ catalogue, not a fixed list. An admin who replaces the demo shop's FAQs with a bank's
(`carebot faq import --replace`) must not get a bot that offers to track parcels."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store import faq

NAMED_QUESTIONS = 3


async def can_help_with(session: AsyncSession, account_id: int | None, template: str) -> str:
    """`template` (texts.SCOPE or texts.DECLINE_SCOPE) with a few of the account's FAQ questions;
    '' when it has none."""
    questions = await faq.sample_questions(session, account_id, NAMED_QUESTIONS)
    return template.format(questions="".join(f"「{question}」" for question in questions)) if questions else ""
