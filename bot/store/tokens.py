"""Platform access tokens shared by every process through the database.

WeChat invalidates the previous token about five minutes after each fetch and allows about
2,000 fetches a day, so all processes share one token per account and only one of them
refreshes it at a time (a lease on the row), whatever the number of senders.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.models import PlatformToken

REFRESH_LEASE = timedelta(seconds=30)
EARLY = timedelta(minutes=5)  # refresh this long before the platform's expiry


def _now() -> datetime:
    return datetime.now(timezone.utc)


class DbTokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def valid(self, account_id: int) -> str | None:
        async with self.db.sessions() as session:
            row = await session.get(PlatformToken, account_id)
        if row and row.access_token and row.expires_at and row.expires_at - EARLY > _now():
            return row.access_token
        return None

    async def lock_refresh(self, account_id: int) -> bool:
        """True if this process may fetch a new token now (no one else is doing it)."""
        now = _now()
        async with self.db.uow() as session:
            if await session.get(PlatformToken, account_id) is None:
                try:
                    async with session.begin_nested():
                        session.add(PlatformToken(account_id=account_id))
                except IntegrityError:
                    pass
            result = await session.execute(update(PlatformToken).where(
                PlatformToken.account_id == account_id,
                # nobody is refreshing, and nobody has just stored a good token
                (PlatformToken.refreshing_until.is_(None)) | (PlatformToken.refreshing_until < now),
                (PlatformToken.access_token.is_(None)) | (PlatformToken.expires_at.is_(None))
                | (PlatformToken.expires_at <= now + EARLY))
                .values(refreshing_until=now + REFRESH_LEASE))
            return result.rowcount == 1

    async def save(self, account_id: int, token: str, expires_in: int) -> None:
        async with self.db.uow() as session:
            await session.execute(update(PlatformToken).where(PlatformToken.account_id == account_id).values(
                access_token=token, expires_at=_now() + timedelta(seconds=expires_in), refreshing_until=None))

    async def release(self, account_id: int) -> None:
        async with self.db.uow() as session:
            await session.execute(update(PlatformToken).where(PlatformToken.account_id == account_id)
                                  .values(refreshing_until=None))

    async def invalidate(self, account_id: int, token: str) -> None:
        """Forget a token the platform rejected (only if nobody replaced it meanwhile)."""
        async with self.db.uow() as session:
            await session.execute(update(PlatformToken).where(
                PlatformToken.account_id == account_id, PlatformToken.access_token == token)
                .values(access_token=None, expires_at=None))
