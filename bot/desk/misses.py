"""What the bot missed, as admins review it (page, API and CLI alike): grouped by wording,
labelled into the training data, dismissed, or flagged by an agent on a thread page.

Grouping is deliberately cheap and deterministic: character bigrams of the normalised text
(what the model read) and a Dice similarity, greedily, newest first, over the newest open
misses only. Chinese needs no word segmentation for that: "退货地址在哪" and "退货地址是哪里"
share most bigrams, "几点关门" and "怎么退款" none.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk.access import NotFound, Refusal, Viewer
from bot.nlu.names import from_rasa, is_faq
from bot.nlu.normalize import normalise
from bot.nlu.training import conversation_intents, training_blocks
from bot.settings import Settings
from bot.store import audit, faq, intent_examples, misses
from bot.store.db import Database
from bot.store.models import Message, Miss, Thread

SIMILAR = 0.5  # Dice similarity of bigram sets at which two misses are "said alike"
SCAN = 1000  # open misses grouped at most (the newest): the page stays quick however many pile up
FAQ_NAME = re.compile(r"^faq/[a-z0-9_]{1,100}$")
MAX_ANSWER = 2000
_NOISE = re.compile(r"[\W_]+")


class MissRefused(Refusal):
    """Bad input for a miss (unknown intent, closed already, a text another intent owns)."""


@dataclass
class MissGroup:
    misses: list[Miss] = field(default_factory=list)  # newest first; the first one stands for the group

    @property
    def head(self) -> Miss:
        return self.misses[0]

    def as_json(self) -> dict[str, Any]:
        head = self.head
        return {"id": head.id, "text": head.text, "action": head.action, "intent": head.intent,
                "confidence": None if head.confidence is None else round(head.confidence, 3),
                "count": len(self.misses), "created": head.created_at.isoformat(), "kind": head.kind,
                "flagged_by": head.flagged_by, "similar": [miss.id for miss in self.misses[1:]]}


def _bigrams(key: str) -> frozenset[str]:
    text = _NOISE.sub("", key)
    return frozenset(text[i:i + 2] for i in range(len(text) - 1)) or frozenset([text])


def _dice(first: frozenset[str], second: frozenset[str]) -> float:
    return 2 * len(first & second) / (len(first) + len(second))


def group(rows: list[Miss]) -> list[MissGroup]:
    """Misses (newest first) into groups of alike wording, most frequent first, then newest."""
    groups: list[tuple[frozenset[str], MissGroup]] = []
    for miss in rows:
        grams = _bigrams(miss.key)
        best, best_score = None, SIMILAR
        for head_grams, candidate in groups:
            score = _dice(grams, head_grams)
            if score >= best_score:
                best, best_score = candidate, score
                if score == 1.0:
                    break
        if best is None:
            groups.append((grams, MissGroup([miss])))
        else:
            best.misses.append(miss)
    found = [g for _, g in groups]
    found.sort(key=lambda g: (-len(g.misses), -g.head.created_at.timestamp(), -g.head.id))
    return found


async def open_groups(db: Database, limit: int | None = None) -> list[MissGroup]:
    async with db.sessions() as session:
        rows = await misses.open_misses(session, SCAN)
    return group(rows)[:limit]


async def open_count(db: Database) -> int:
    async with db.sessions() as session:
        return await misses.open_count(session)


async def intents(db: Database, settings: Settings) -> dict[str, str]:
    """What a miss may be labelled as: every FAQ (name -> its title question) and every
    conversation intent (name -> "")."""
    async with db.sessions() as session:
        names = await faq.names(session)
        questions = await faq.questions(session, tuple(sorted(names)))
    return {**{name: questions.get(name, "") for name in sorted(names)},
            **{name: "" for name in conversation_intents(settings)}}


@dataclass(frozen=True)
class NewFaq:
    """A new FAQ made from a miss: its title question, answer and (optional) name."""
    title: str
    answer: str
    name: str = ""


async def label(db: Database, settings: Settings, ids: list[int], intent: str, *, actor: str, now: datetime,
                new_faq: NewFaq | None = None) -> list[Miss]:
    """Add each miss's text as an example of `intent` (or of a new FAQ) and close the misses.

    The examples reach the next `carebot train` (and change the data's hash, so the active
    model is out of date, as after any FAQ edit). Refused, with nothing changed: an unknown
    id or intent, a miss closed already, a text the training data gives another intent."""
    known = await intents(db, settings)
    if new_faq is not None:
        intent = _checked_new_faq(new_faq, ids[0], known)
    elif intent not in known:
        raise MissRefused(f"未知的意图 {intent}：可选 FAQ（faq/...）或 {', '.join(conversation_intents(settings))}")
    owners = {text: from_rasa(block.name) for block in await training_blocks(db, settings) for text in block.examples}
    async with db.uow() as session:
        found = await _open_misses(session, ids)
        for miss in found:
            owner = owners.get(normalise(miss.text, settings.nlu_max_chars))
            if owner is not None and owner != intent:
                raise MissRefused(f"“{miss.text}” 已是 {owner} 的例句，不能再加给 {intent}")
        if new_faq is not None:
            if (taken := await faq.name_of_question(session, new_faq.title.strip())) is not None:
                raise MissRefused(f"已有同样标题的 FAQ：{taken}")
            await faq.upsert(session, [faq.FaqRecord(intent, new_faq.title.strip(), (), new_faq.answer.strip())],
                             replace=False)
            await audit.record(session, actor, "faq.add", "faq", intent, now=now,
                               after={"question": new_faq.title.strip(), "answer": new_faq.answer.strip()})
        for miss in found:
            if is_faq(intent):
                await faq.add_example(session, intent, miss.text)
            else:
                await intent_examples.add(session, intent, miss.text, actor, now)
            misses.close(miss, "labelled", intent, actor, now)
            await audit.record(session, actor, "miss.label", "miss", miss.id, now=now, before={"status": "open"},
                               after={"status": "labelled", "label": intent, "example": miss.text})
    return found


def _checked_new_faq(new_faq: NewFaq, miss_id: int, known: dict[str, str]) -> str:
    name = new_faq.name.strip() or f"faq/miss_{miss_id}"
    if not FAQ_NAME.match(name):
        raise MissRefused("FAQ 名称须为 faq/ 加小写字母、数字或下划线，如 faq/store_hours")
    if name in known:
        raise MissRefused(f"FAQ {name} 已存在")
    if not new_faq.title.strip() or not new_faq.answer.strip():
        raise MissRefused("新 FAQ 需要标题问题和答案")
    if len(new_faq.title) > 200 or len(new_faq.answer) > MAX_ANSWER:
        raise MissRefused(f"标题最多 200 个字符，答案最多 {MAX_ANSWER} 个字符")
    return name


async def dismiss(db: Database, ids: list[int], *, actor: str, now: datetime) -> list[Miss]:
    """Close misses that teach nothing (noise, a one-off); audited like a label."""
    async with db.uow() as session:
        found = await _open_misses(session, ids)
        for miss in found:
            misses.close(miss, "dismissed", None, actor, now)
            await audit.record(session, actor, "miss.dismiss", "miss", miss.id, now=now, before={"status": "open"},
                               after={"status": "dismissed"})
    return found


async def _open_misses(session: AsyncSession, ids: list[int]) -> list[Miss]:
    found = await misses.by_ids(session, ids)
    for miss_id in ids:
        miss = found.get(miss_id)
        if miss is None:
            raise NotFound(f"没有编号为 {miss_id} 的未解决问题")
        if miss.status != misses.OPEN:
            done = "已忽略" if miss.status == "dismissed" else f"已标注为 {miss.label}"
            raise MissRefused(f"问题 {miss_id} {done}")
    return [found[miss_id] for miss_id in dict.fromkeys(ids)]


async def flag(db: Database, settings: Settings, viewer: Viewer, reply_id: int, now: datetime) -> Miss:
    """An agent's "机器人答错了" on one of the bot's replies: the customer message it answered
    becomes an open miss (again, if it was dismissed), with the reply and the agent recorded."""
    async with db.uow() as session:
        reply = await session.get(Message, reply_id)
        thread = await session.get(Thread, reply.thread_id) if reply is not None else None
        if reply is None or thread is None or not viewer.sees(thread.account_id):
            raise NotFound("消息不存在")
        inbound = await session.get(Message, reply.reply_to_id) if reply.reply_to_id else None
        if reply.author != "bot" or inbound is None or inbound.author != "customer" or not inbound.text.strip():
            raise MissRefused("只能标记机器人对客户文字消息的回复")
        earlier = await misses.of_message(session, inbound.id)
        if earlier is not None and earlier.status == "labelled":
            raise MissRefused(f"这条消息已标注为 {earlier.label}")
        miss = await misses.flag(session, inbound, thread, reply, key=normalise(inbound.text, settings.nlu_max_chars),
                                 agent=viewer.username, now=now)
        await audit.record(session, viewer.username, "miss.flag", "miss", miss.id, now=now,
                           after={"message_id": inbound.id, "reply_id": reply.id})
    return miss


async def flagged_replies(db: Database, thread_id: int) -> frozenset[int]:
    async with db.sessions() as session:
        return await misses.flagged_replies(session, thread_id)
