"""The deployment's own labelled test set (`nlu_test_examples`): what admins keep to check each
new model on messages of their own customers, edited on the models page."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import NluTestExample

MAX_TEXT = 200  # what the model reads (CAREBOT_NLU_MAX_CHARS' default)
MAX_LINES = 500
INTENT = re.compile(r"^[a-z][a-z0-9_]*(/[a-z0-9_]+)?$")


class TestSetError(ValueError):
    """Bad lines; the message names the first one (in Chinese: admins read it on the page)."""


def parse_lines(text: str) -> list[tuple[str, str]]:
    """`intent<TAB>text` lines (a space also separates) into pairs; blank lines skipped."""
    pairs = []
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise TestSetError(f"一次最多添加 {MAX_LINES} 行")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.strip().split("\t", 1) if "\t" in line else line.strip().split(None, 1)
        if len(parts) != 2 or not parts[1].strip():
            raise TestSetError(f"第 {number} 行应为“意图<TAB>消息”：{line.strip()[:40]}")
        intent, message = parts[0].strip(), parts[1].strip()
        if not INTENT.match(intent):
            raise TestSetError(f"第 {number} 行的意图名无效：{intent[:40]}（如 faq/refund_time、complain）")
        if len(message) > MAX_TEXT:
            raise TestSetError(f"第 {number} 行的消息超过 {MAX_TEXT} 个字符")
        pairs.append((intent, message))
    if not pairs:
        raise TestSetError("没有可添加的行：每行“意图<TAB>消息”")
    return pairs


async def every(session: AsyncSession) -> list[NluTestExample]:
    return list((await session.execute(select(NluTestExample).order_by(NluTestExample.id))).scalars())


async def add(session: AsyncSession, pairs: list[tuple[str, str]], actor: str, now: datetime) -> int:
    """Add the pairs; a text already in the set takes the new label. Returns how many were new."""
    known = {row.text: row for row in await every(session)}
    added = 0
    for intent, text in dict((t, (i, t)) for i, t in pairs).values():
        if text in known:
            known[text].intent = intent
        else:
            session.add(NluTestExample(intent=intent, text=text, created_by=actor, created_at=now))
            added += 1
    return added


async def remove(session: AsyncSession, example_id: int) -> bool:
    return (await session.execute(delete(NluTestExample).where(NluTestExample.id == example_id))).rowcount == 1


def fingerprint(rows: list[NluTestExample]) -> str:
    """Which test set a model's figures were measured on (so old figures show as such)."""
    return hashlib.sha256("\n".join(sorted(f"{r.intent}\t{r.text}" for r in rows)).encode()).hexdigest()[:12]
