"""Canned replies: prepared answers agents search by shortcut, title or text and insert."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import CannedReply

SHORTCUT = re.compile(r"^[\w\u4e00-\u9fff-]{1,32}$")
MAX_TEXT = 2000  # a WeChat customer-service text message holds 2048 bytes; the outbox splits longer ones


class CannedError(ValueError):
    """Invalid or conflicting input; the message says why (shown to admins as is)."""


def _checked(shortcut: str, text: str, title: str) -> tuple[str, str, str]:
    shortcut, text, title = shortcut.strip().lstrip("/"), text.strip(), title.strip()
    if not SHORTCUT.match(shortcut):
        raise CannedError("快捷词须为 1-32 个字母、数字、汉字、下划线或连字符")
    if not text:
        raise CannedError("回复内容不能为空")
    if len(text) > MAX_TEXT:
        raise CannedError(f"回复内容最多 {MAX_TEXT} 个字符")
    if len(title) > 128:
        raise CannedError("标题最多 128 个字符")
    return shortcut, text, title


async def add(session: AsyncSession, *, shortcut: str, text: str, title: str = "", author: str,
              now: datetime) -> CannedReply:
    shortcut, text, title = _checked(shortcut, text, title)
    reply = CannedReply(shortcut=shortcut, title=title, text=text, created_by=author, created_at=now, updated_at=now)
    try:
        async with session.begin_nested():
            session.add(reply)
    except IntegrityError:
        raise CannedError(f"快捷词 /{shortcut} 已存在") from None
    return reply


async def all_replies(session: AsyncSession) -> list[CannedReply]:
    return list((await session.execute(select(CannedReply).order_by(CannedReply.shortcut))).scalars())


async def search(session: AsyncSession, query: str, limit: int = 10) -> list[CannedReply]:
    """Shortcut prefix matches first, then anything containing the words."""
    query = query.strip().lstrip("/")
    if not query:
        return (await all_replies(session))[:limit]
    rows = await session.execute(select(CannedReply).where(or_(
        CannedReply.shortcut.istartswith(query, autoescape=True),
        CannedReply.title.icontains(query, autoescape=True),
        CannedReply.text.icontains(query, autoescape=True))).order_by(CannedReply.shortcut))
    found = list(rows.scalars())
    found.sort(key=lambda r: not r.shortcut.lower().startswith(query.lower()))
    return found[:limit]


async def by_shortcut(session: AsyncSession, shortcut: str) -> CannedReply | None:
    return (await session.execute(select(CannedReply).where(
        CannedReply.shortcut == shortcut.strip().lstrip("/")))).scalar_one_or_none()


async def remove(session: AsyncSession, shortcut: str) -> CannedReply:
    reply = await by_shortcut(session, shortcut)
    if reply is None:
        raise CannedError(f"没有快捷词 /{shortcut.strip().lstrip('/')}")
    await session.execute(delete(CannedReply).where(CannedReply.id == reply.id))
    return reply
