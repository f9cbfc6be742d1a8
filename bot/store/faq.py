"""FAQ intents as admins edit them: questions, examples and answers."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import FaqAnswer, FaqExample, FaqIntent


@dataclass(frozen=True)
class FaqRecord:
    name: str
    question: str
    examples: tuple[str, ...]
    answer: str


async def names(session: AsyncSession) -> frozenset[str]:
    return frozenset((await session.execute(select(FaqIntent.name))).scalars())


async def answer(session: AsyncSession, name: str) -> str | None:
    return (await answers(session, {name})).get(name)


async def answers(session: AsyncSession, wanted: set[str]) -> dict[str, str]:
    """The answers of the FAQs named (one query for a whole group of messages)."""
    if not wanted:
        return {}
    rows = await session.execute(select(FaqIntent.name, FaqAnswer.text).join(FaqAnswer)
                                 .where(FaqIntent.name.in_(wanted)))
    return {name: text for name, text in rows}


async def questions(session: AsyncSession, wanted: tuple[str, ...]) -> dict[str, str]:
    rows = await session.execute(select(FaqIntent.name, FaqIntent.question).where(FaqIntent.name.in_(wanted)))
    return {name: question for name, question in rows}


async def records(session: AsyncSession) -> list[FaqRecord]:
    intents = (await session.execute(select(FaqIntent).order_by(FaqIntent.name))).scalars()
    return [FaqRecord(i.name, i.question, tuple(e.text for e in i.examples),
                      i.answer.text if i.answer else "") for i in intents]


async def is_empty(session: AsyncSession) -> bool:
    return (await session.execute(select(FaqIntent.id).limit(1))).first() is None


async def upsert(session: AsyncSession, wanted: list[FaqRecord], *, replace: bool) -> dict[str, int]:
    """Write FAQ intents; with `replace`, drop those not in `wanted`. Returns counts."""
    existing = {i.name: i for i in (await session.execute(select(FaqIntent))).scalars()}
    counts = {"added": 0, "updated": 0, "removed": 0}
    for record in wanted:
        intent = existing.get(record.name)
        if intent is None:
            intent = FaqIntent(name=record.name)
            session.add(intent)
            counts["added"] += 1
        else:
            counts["updated"] += 1
        intent.question = record.question
        # keep the rows of examples that stay (a new row with the same text would collide
        # with the old one before the old one is deleted)
        current = {example.text: example for example in intent.examples}
        intent.examples = [current.get(text) or FaqExample(text=text)
                           for text in dict.fromkeys(record.examples)]
        if intent.answer is None:
            intent.answer = FaqAnswer(text=record.answer)
        else:
            intent.answer.text = record.answer
    if replace:
        gone = set(existing) - {r.name for r in wanted}
        if gone:
            await session.execute(delete(FaqIntent).where(FaqIntent.name.in_(gone)))
        counts["removed"] = len(gone)
    await session.flush()
    return counts


async def add_example(session: AsyncSession, name: str, text: str) -> bool:
    """One more example of the FAQ `name` (it must exist); False when it already has this one."""
    intent = (await session.execute(select(FaqIntent).where(FaqIntent.name == name))).scalar_one()
    if any(example.text == text for example in intent.examples):
        return False
    intent.examples.append(FaqExample(text=text))
    await session.flush()
    return True


async def name_of_question(session: AsyncSession, question: str) -> str | None:
    """The FAQ whose title question this is, if any (two FAQs with one title confuse admins)."""
    return (await session.execute(select(FaqIntent.name).where(FaqIntent.question == question))).scalars().first()
