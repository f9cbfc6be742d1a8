"""FAQs as admins manage them (pages, API and CLI alike): checked, stored and audited in one
transaction, so a refused change writes nothing and every accepted one is in the audit log.

Answers apply at once (the bot reads them from the database); a change of a title question
or of examples needs a retraining, which bot.nlu.freshness notices.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk.access import NotFound
from bot.store import audit, faq
from bot.store.db import Database
from bot.store.models import FaqIntent

ENTITY = "faq"


@dataclass(frozen=True)
class Changes:
    """What an edit changes; None: left as it is."""
    question: str | None = None
    examples: tuple[str, ...] | None = None
    answer: str | None = None
    overrides: tuple[faq.Override, ...] = ()


def as_json(intent: FaqIntent, accounts: dict[int, tuple[str, str, str]]) -> dict[str, Any]:
    """The API's shape of an FAQ; `accounts`: faq.account_slugs()."""
    return {"id": intent.id, "name": intent.name, "question": intent.question,
            "examples": [e.text for e in intent.examples], "answer": intent.answer.text if intent.answer else "",
            "accounts": sorted(({"account": accounts[o.account_id][0], "answer": o.answer, "enabled": o.enabled}
                                for o in intent.overrides if o.account_id in accounts), key=lambda o: o["account"])}


def _audited(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key != "id"}


async def _found(session: AsyncSession, intent_id: int) -> FaqIntent:
    intent = await faq.get(session, intent_id)
    if intent is None:
        raise NotFound("FAQ 不存在")
    return intent


async def listing(db: Database, query: str = "") -> list[dict[str, Any]]:
    async with db.sessions() as session:
        accounts = await faq.account_slugs(session)
        return [as_json(intent, accounts) for intent in await faq.search(session, query)]


async def one(db: Database, intent_id: int) -> dict[str, Any]:
    async with db.sessions() as session:
        return as_json(await _found(session, intent_id), await faq.account_slugs(session))


async def create(db: Database, *, actor: str, record: faq.FaqRecord, overrides: tuple[faq.Override, ...] = (),
                 now: datetime) -> dict[str, Any]:
    """faq.FaqError for bad or conflicting input (nothing stored)."""
    async with db.uow() as session:
        intent = await faq.save(session, None, record)
        await faq.set_overrides(session, intent, list(overrides))
        after = as_json(intent, await faq.account_slugs(session))
        await audit.record(session, actor, "faq.create", ENTITY, intent.name, after=_audited(after), now=now)
        return after


async def update(db: Database, *, actor: str, intent_id: int, changes: Changes, now: datetime) -> dict[str, Any]:
    """faq.FaqError for bad or conflicting input, NotFound for an unknown id (nothing stored)."""
    async with db.uow() as session:
        intent = await _found(session, intent_id)
        accounts = await faq.account_slugs(session)
        before = as_json(intent, accounts)
        record = faq.as_record(intent)
        record = replace(record, question=record.question if changes.question is None else changes.question,
                         examples=record.examples if changes.examples is None else changes.examples,
                         answer=record.answer if changes.answer is None else changes.answer)
        await faq.save(session, intent, record)
        await faq.set_overrides(session, intent, list(changes.overrides))
        after = as_json(intent, accounts)
        if after != before:
            await audit.record(session, actor, "faq.update", ENTITY, intent.name, before=_audited(before),
                               after=_audited(after), now=now)
        return after


async def delete(db: Database, *, actor: str, intent_id: int, now: datetime) -> dict[str, Any]:
    async with db.uow() as session:
        intent = await _found(session, intent_id)
        before = as_json(intent, await faq.account_slugs(session))
        await faq.remove(session, intent)
        await audit.record(session, actor, "faq.delete", ENTITY, before["name"], before=_audited(before), now=now)
        return before


async def import_records(db: Database, *, actor: str, records: list[faq.FaqRecord], replace: bool,
                         source: str, now: datetime) -> dict[str, int]:
    """`carebot faq import` for the CLI and the pages alike: `records` from rasa_yaml.read_faq,
    checked as the pages check one FAQ (faq.FaqError: nothing written)."""
    async with db.uow() as session:
        current = await faq.records(session)
        names = {r.name for r in records}
        records = faq.checked_import(records, [] if replace else [r for r in current if r.name not in names])
        before = {r.name for r in current}
        counts = await faq.upsert(session, records, replace=replace)
        await audit.record(session, actor, "faq.import", ENTITY, None, now=now, after={
            "source": source, "replace": replace, **counts,
            "added_names": sorted({r.name for r in records} - before),
            "removed_names": sorted(before - {r.name for r in records}) if replace else []})
        return counts


async def export_records(db: Database) -> list[faq.FaqRecord]:
    async with db.sessions() as session:
        return await faq.records(session)
