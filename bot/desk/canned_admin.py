"""Canned replies as admins manage them (pages, API and CLI alike): checked, stored, audited,
in the caller's unit of work."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store import audit, canned
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import CannedReply


def as_json(reply: CannedReply) -> dict[str, Any]:
    return {"id": reply.id, "shortcut": reply.shortcut, "title": reply.title, "text": reply.text}


async def add(session: AsyncSession, *, actor: str, shortcut: str, text: str, title: str,
              now: datetime) -> CannedReply:
    """Raises canned.CannedError for bad or duplicate input (nothing stored)."""
    reply = await canned.add(session, shortcut=shortcut, text=text, title=title, author=actor, now=now)
    await audit.record(session, actor, "canned.add", "canned_reply", reply.id, now=now, after=as_json(reply))
    return reply


async def remove(session: AsyncSession, *, actor: str, shortcut: str, now: datetime) -> CannedReply:
    reply = await canned.remove(session, shortcut)
    await audit.record(session, actor, "canned.remove", "canned_reply", reply.id, now=now, before=as_json(reply))
    return reply
