"""Whether the active model learned the FAQs as they are now: the admin pages' banner.

The full training-data hash (`training.assemble`) normalises every example; the pages ask on
every request, so it is remembered under a cheap digest of the FAQ rows (two narrow queries)
and worked out again only after an admin changed a title question or an example.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from bot.nlu.training import assemble
from bot.settings import Settings
from bot.store import faq, nlu_models
from bot.store.db import Database

_REMEMBERED = 64  # digests kept per process (each FAQ edit adds one)
_hashes: dict[tuple[str, str, str], str] = {}  # (data dir, config, FAQ digest) -> training data hash


async def _digest_and_active(db: Database) -> tuple[str, str | None]:
    async with db.sessions() as session:
        model = await nlu_models.active(session)
        return await faq.training_digest(session), model.data_hash if model else None


async def model_out_of_date(db: Database, settings: Settings) -> bool:
    """True when there is no active model or it was trained on other FAQ data than the current."""
    digest, active_hash = await _digest_and_active(db)
    key = (str(settings.nlu_data_dir), str(settings.config_path), digest)
    data_hash = _hashes.get(key)
    if data_hash is None:
        settings.home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="freshness-", dir=settings.home) as work:
            data_hash = (await assemble(db, settings, Path(work))).data_hash
        if (await _digest_and_active(db))[0] == digest:  # not changed meanwhile: safe to remember
            if len(_hashes) >= _REMEMBERED:
                _hashes.clear()
            _hashes[key] = data_hash
    return active_hash != data_hash
