"""Official accounts: as admins register them (credentials stored sealed) and as messages find them."""
from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Account


async def by_slug(session: AsyncSession, slug: str) -> Account | None:
    return (await session.execute(select(Account).where(Account.slug == slug))).scalar_one_or_none()


async def ensure(session: AsyncSession, platform: str, slug: str, name: str = "") -> Account:
    """The account, created when a message first names it (concurrent creators agree on one row)."""
    account = await by_slug(session, slug)
    if account is None:
        try:
            async with session.begin_nested():
                account = Account(platform=platform, slug=slug, name=name or slug)
                session.add(account)
        except IntegrityError:
            account = await by_slug(session, slug)
    assert account is not None
    return account


class AccountExists(ValueError):
    pass


async def add(session: AsyncSession, *, platform: str, slug: str, name: str, app_id: str | None,
              sealed: dict[str, str | None]) -> Account:
    account = Account(platform=platform, slug=slug, name=name or slug, app_id=app_id, credentials=sealed)
    try:
        async with session.begin_nested():
            session.add(account)
    except IntegrityError:
        raise AccountExists(f"an account with slug {slug!r} exists already") from None
    return account


async def all_accounts(session: AsyncSession) -> list[Account]:
    return list((await session.execute(select(Account).order_by(Account.slug))).scalars())


async def visible(session: AsyncSession, clause: ColumnElement[bool]) -> list[Account]:
    """The accounts a viewer may see (`clause` limits `Account.id`), by slug."""
    return list((await session.execute(select(Account).where(clause).order_by(Account.slug))).scalars())


async def autoassigned(session: AsyncSession) -> list[int]:
    """Ids of the accounts with auto-assignment on."""
    return list((await session.execute(select(Account.id).where(Account.autoassign_capacity.is_not(None)))).scalars())


async def replace_credentials(session: AsyncSession, *, platform: str, slug: str, app_id: str | None,
                              sealed: dict[str, str | None]) -> bool:
    """New credentials for an existing account (a platform token expired); False if there is
    no such account on `platform`."""
    account = (await session.execute(select(Account).where(Account.slug == slug, Account.platform == platform)
                                     .with_for_update())).scalar_one_or_none()
    if account is None:
        return False
    account.credentials = sealed
    if app_id is not None:
        account.app_id = app_id
    return True
