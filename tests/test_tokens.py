"""The shared token store on both databases: one refresher, and no refresh of a fresh token."""
from bot.store import accounts
from bot.store.db import Database
from bot.store.tokens import DbTokenStore


async def test_only_one_process_refreshes_and_a_fresh_token_is_not_refetched(database_url: str):
    db = Database(database_url)
    await db.migrate()
    async with db.uow() as session:
        account = await accounts.ensure(session, "wechat", "brand")
    store, other = DbTokenStore(db), DbTokenStore(db)
    assert await store.valid(account.id) is None
    assert await store.lock_refresh(account.id)
    assert not await other.lock_refresh(account.id)  # someone is refreshing
    await store.save(account.id, "TOKEN-1", 7200)
    assert not await other.lock_refresh(account.id)  # a good token was just stored: use it
    assert await other.valid(account.id) == "TOKEN-1"
    await other.invalidate(account.id, "TOKEN-0")  # a stale rejection does not drop the new token
    assert await store.valid(account.id) == "TOKEN-1"
    await other.invalidate(account.id, "TOKEN-1")
    assert await other.lock_refresh(account.id)  # now it must be refetched
    await db.dispose()
