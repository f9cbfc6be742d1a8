"""FAQ intents as admins edit them: questions, examples, the default answer and each
account's own version (its answer, or the FAQ switched off there)."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Account, FaqAnswer, FaqExample, FaqIntent, FaqOverride, IntentExample

NAME = re.compile(r"^faq/[a-z0-9_]{1,120}$")
MAX_QUESTION = 200
MAX_EXAMPLE = 200  # the model reads at most CAREBOT_NLU_MAX_CHARS (200) of a message
MAX_ANSWER = 4000  # longer than any platform's message: it is sent in parts (the pages show how)


class FaqError(ValueError):
    """Invalid or conflicting input; the message (Chinese, shown to admins as is) says why."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


@dataclass(frozen=True)
class FaqRecord:
    name: str
    question: str
    examples: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class Override:
    """An account's own version of an FAQ (by account slug): `answer` None keeps the default."""
    account: str
    answer: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Catalogue:
    """The FAQ names the bot may answer, and those switched off per account id."""
    names: frozenset[str]
    disabled: dict[int, frozenset[str]] = field(default_factory=dict)

    def known(self, account_id: int | None) -> frozenset[str]:
        off = self.disabled.get(account_id) if account_id is not None else None
        return self.names - off if off else self.names


async def names(session: AsyncSession) -> frozenset[str]:
    return frozenset((await session.execute(select(FaqIntent.name))).scalars())


async def catalogue(session: AsyncSession) -> Catalogue:
    rows = await session.execute(select(FaqOverride.account_id, FaqIntent.name).join(FaqIntent)
                                 .where(FaqOverride.enabled.is_(False)))
    disabled: dict[int, set[str]] = {}
    for account_id, name in rows:
        disabled.setdefault(account_id, set()).add(name)
    return Catalogue(await names(session), {key: frozenset(value) for key, value in disabled.items()})


async def answer(session: AsyncSession, name: str, account_id: int | None = None) -> str | None:
    return (await answers(session, {(name, account_id)})).get((name, account_id))


async def answers(session: AsyncSession, wanted: set[tuple[str, int | None]]) -> dict[tuple[str, int | None], str]:
    """The answers of the FAQs named, each for its account (the account's own answer, else the
    default): two queries for a whole group of messages."""
    if not wanted:
        return {}
    wanted_names = {name for name, _ in wanted}
    defaults = dict((await session.execute(select(FaqIntent.name, FaqAnswer.text).join(FaqAnswer)
                                           .where(FaqIntent.name.in_(wanted_names)))).all())
    account_ids = {account_id for _, account_id in wanted if account_id is not None}
    own: dict[tuple[str, int | None], str] = {}
    if account_ids:
        rows = await session.execute(select(FaqIntent.name, FaqOverride.account_id, FaqOverride.answer)
                                     .join(FaqIntent).where(FaqIntent.name.in_(wanted_names),
                                                            FaqOverride.account_id.in_(account_ids),
                                                            FaqOverride.answer.is_not(None)))
        own = {(name, account_id): text for name, account_id, text in rows}
    found = {(name, account_id): own.get((name, account_id)) or defaults.get(name) for name, account_id in wanted}
    return {key: text for key, text in found.items() if text}


async def questions(session: AsyncSession, wanted: tuple[str, ...]) -> dict[str, str]:
    rows = await session.execute(select(FaqIntent.name, FaqIntent.question).where(FaqIntent.name.in_(wanted)))
    return {name: question for name, question in rows}


async def sample_questions(session: AsyncSession, account_id: int | None, count: int) -> list[str]:
    """`count` FAQ questions spread evenly over the catalogue (in the order the FAQs were added), less
    those switched off for the account: what the bot names when it says what it can help with. Spread,
    not the first ones: an admin's file groups FAQs by topic, and the first three are often one topic."""
    switched_off = select(FaqOverride.intent_id).where(FaqOverride.account_id == account_id,
                                                       FaqOverride.enabled.is_(False))
    found = [question for question in (await session.execute(
        select(FaqIntent.question).where(FaqIntent.id.not_in(switched_off)).order_by(FaqIntent.id))).scalars()
        if question]
    if len(found) <= count:
        return found
    return [found[index * len(found) // count] for index in range(count)]


async def records(session: AsyncSession) -> list[FaqRecord]:
    intents = (await session.execute(select(FaqIntent).order_by(FaqIntent.name))).scalars()
    return [as_record(i) for i in intents]


def as_record(intent: FaqIntent) -> FaqRecord:
    return FaqRecord(intent.name, intent.question, tuple(e.text for e in intent.examples),
                     intent.answer.text if intent.answer else "")


async def training_digest(session: AsyncSession) -> str:
    """A hash of what the model learns from the database (FAQ names, questions, examples and
    answers, and the examples admins added to conversation intents from the misses), from four
    narrow queries: the cheap key under which the full training-data hash is remembered."""
    intents = (await session.execute(select(FaqIntent.id, FaqIntent.name, FaqIntent.question)
                                     .order_by(FaqIntent.id))).all()
    examples = (await session.execute(select(FaqExample.intent_id, FaqExample.text)
                                      .order_by(FaqExample.intent_id, FaqExample.id))).all()
    answers = (await session.execute(select(FaqAnswer.intent_id, FaqAnswer.text).order_by(FaqAnswer.intent_id))).all()
    added = (await session.execute(select(IntentExample.intent, IntentExample.text)
                                   .order_by(IntentExample.id))).all()
    return hashlib.sha256(json.dumps([[list(row) for row in rows] for rows in (intents, examples, answers, added)],
                                     ensure_ascii=False).encode()).hexdigest()


async def is_empty(session: AsyncSession) -> bool:
    return (await session.execute(select(FaqIntent.id).limit(1))).first() is None


async def get(session: AsyncSession, intent_id: int) -> FaqIntent | None:
    return await session.get(FaqIntent, intent_id)


async def search(session: AsyncSession, query: str = "") -> list[FaqIntent]:
    """FAQs whose name, title question, answers or examples contain `query` (all when empty)."""
    statement = select(FaqIntent).order_by(FaqIntent.name)
    query = query.strip()
    if query:
        statement = statement.where(or_(
            FaqIntent.name.icontains(query, autoescape=True),
            FaqIntent.question.icontains(query, autoescape=True),
            exists().where(FaqAnswer.intent_id == FaqIntent.id, FaqAnswer.text.icontains(query, autoescape=True)),
            exists().where(FaqOverride.intent_id == FaqIntent.id,
                           FaqOverride.answer.icontains(query, autoescape=True)),
            exists().where(FaqExample.intent_id == FaqIntent.id,
                           FaqExample.text.icontains(query, autoescape=True))))
    return list((await session.execute(statement)).scalars())


def _single_line(value: str, what: str, limit: int, field_name: str) -> str:
    value = value.strip()
    if not value:
        raise FaqError(f"{what}不能为空", field_name)
    if "\n" in value or "\r" in value:
        raise FaqError(f"{what}只能有一行：{value[:20]}…", field_name)
    if len(value) > limit:
        raise FaqError(f"{what}最多 {limit} 个字符：{value[:20]}…", field_name)
    return value


def checked(record: FaqRecord) -> FaqRecord:
    """The record trimmed, or FaqError naming the field and the reason."""
    if not NAME.match(record.name):
        raise FaqError(f"名称 {record.name!r} 不是有效的意图名：须为 faq/ 加小写字母、数字或下划线，"
                       "例如 faq/store_hours", "name")
    question = _single_line(record.question, "标题问题", MAX_QUESTION, "question")
    examples = tuple(dict.fromkeys(_single_line(e, "例句", MAX_EXAMPLE, "examples")
                                   for e in record.examples if e.strip()))
    if not examples:
        raise FaqError("至少需要一条例句（顾客可能的问法）", "examples")
    text = checked_answer(record.answer, "answer")
    return FaqRecord(record.name, question, examples, text)


def checked_answer(text: str, field_name: str) -> str:
    text = text.strip()
    if not text:
        raise FaqError("答案不能为空", field_name)
    if len(text) > MAX_ANSWER:
        raise FaqError(f"答案最多 {MAX_ANSWER} 个字符", field_name)
    return text


def checked_import(records: list[FaqRecord], kept: list[FaqRecord]) -> list[FaqRecord]:
    """An imported file's FAQs, each `checked` (the reason names the FAQ), refusing two FAQs
    with one title question: both in the file, or one in it and one of `kept` (those the import
    leaves as they are). FaqError, and the caller writes nothing."""
    result = []
    for record in records:
        try:
            result.append(checked(record))
        except FaqError as exc:
            raise FaqError(f"{record.name}：{exc.reason}", exc.field) from None
    titles: dict[str, str] = {}
    for record in [*kept, *result]:
        other = titles.setdefault(_title_key(record.question), record.name)
        if other != record.name:
            raise FaqError(f"{record.name} 的标题问题「{record.question}」已被 {other} 使用", "question")
    return result


async def _refuse_conflicts(session: AsyncSession, record: FaqRecord, intent: FaqIntent | None) -> None:
    """A new title question that another FAQ has, or a new example another FAQ claims (the
    model can learn a phrasing for one intent only). What an FAQ had already (an imported
    file may hold such clashes) does not stop an edit of its answer."""
    current = as_record(intent) if intent is not None else None
    others = FaqIntent.id != intent.id if intent is not None else FaqIntent.id.is_not(None)
    wanted = _title_key(record.question)
    if current is None or _title_key(current.question) != wanted:
        titles = (await session.execute(select(FaqIntent.name, FaqIntent.question).where(others))).all()
        for name, question in titles:
            if _title_key(question) == wanted:
                raise FaqError(f"标题问题「{record.question}」已被 {name} 使用", "question")
    added = [e for e in record.examples if current is None or e not in current.examples]
    taken = (await session.execute(select(FaqExample.text, FaqIntent.name).join(FaqIntent)
                                   .where(others, FaqExample.text.in_(added)))).first() if added else None
    if taken is not None:
        raise FaqError(f"例句「{taken[0]}」已属于 {taken[1]}", "examples")


def _title_key(question: str) -> str:
    return "".join(question.split()).casefold().rstrip("?？")


async def save(session: AsyncSession, intent: FaqIntent | None, record: FaqRecord) -> FaqIntent:
    """Create (`intent` None) or change an FAQ after `checked` and the conflict checks;
    FaqError and nothing written otherwise."""
    record = checked(record)
    await _refuse_conflicts(session, record, intent)
    if intent is None:
        # checked, not caught: a savepoint on SQLite (pysqlite) would commit the transaction so
        # far; two admins creating one name at once: the unique index refuses the second
        if (await session.execute(select(FaqIntent.id).where(FaqIntent.name == record.name))).first():
            raise FaqError(f"FAQ {record.name} 已存在", "name")
        intent = FaqIntent(name=record.name, examples=[], overrides=[])
        _write(intent, record)
        session.add(intent)
        await session.flush()
        return intent
    if intent.name != record.name:
        raise FaqError("FAQ 的名称创建后不能修改（模型按名称认识它）：请新建一个", "name")
    _write(intent, record)
    await session.flush()
    return intent


def _write(intent: FaqIntent, record: FaqRecord) -> None:
    intent.question = record.question
    # keep the rows of examples that stay (a new row with the same text would collide
    # with the old one before the old one is deleted)
    current = {example.text: example for example in intent.examples}
    intent.examples = [current.get(text) or FaqExample(text=text) for text in dict.fromkeys(record.examples)]
    if intent.answer is None:
        intent.answer = FaqAnswer(text=record.answer)
    else:
        intent.answer.text = record.answer


async def set_overrides(session: AsyncSession, intent: FaqIntent, wanted: list[Override]) -> None:
    """Each account's own version; an account given with neither its own answer nor the FAQ
    switched off goes back to the default. Accounts not given stay as they are."""
    slugs = {o.account for o in wanted}
    accounts = dict((await session.execute(select(Account.slug, Account.id).where(Account.slug.in_(slugs)))).all())
    current = {o.account_id: o for o in intent.overrides}
    for override in wanted:
        account_id = accounts.get(override.account)
        if account_id is None:
            raise FaqError(f"没有账号 {override.account}", "accounts")
        text = checked_answer(override.answer, "accounts") if override.answer and override.answer.strip() else None
        row = current.get(account_id)
        if text is None and override.enabled:
            if row is not None:
                intent.overrides.remove(row)
            continue
        if row is None:
            row = FaqOverride(account_id=account_id)
            intent.overrides.append(row)
        row.answer, row.enabled = text, override.enabled
    await session.flush()


async def account_slugs(session: AsyncSession) -> dict[int, tuple[str, str, str]]:
    """account id -> (slug, name, platform), for showing overrides."""
    rows = await session.execute(select(Account.id, Account.slug, Account.name, Account.platform).order_by(Account.slug))
    return {account_id: (slug, name, platform) for account_id, slug, name, platform in rows}


async def remove(session: AsyncSession, intent: FaqIntent) -> None:
    await session.delete(intent)
    await session.flush()


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
        _write(intent, record)
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
