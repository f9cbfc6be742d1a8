"""The migrations build exactly the schema the models describe, on both databases.

Several branches of the schema were written at the same time; a column added to a model
but forgotten in its migration would only show up as a failure in production.
"""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.store.db import Database, alembic_config
from bot.store.models import Base


def test_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


async def test_migrated_schema_matches_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        async with db.engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
    finally:
        await db.dispose()
    assert diff == []
