"""Claim benchmark: 50 agents claiming 1,000 waiting inbox items at once, on SQLite and PostgreSQL.

Claims go through the inbox service (`bot.desk.queue.claim`: one transaction with the
conditional UPDATE, the thread update, the audit entry and the change notification).
`claim_*`: one agent claiming 300 items one after another (what a click waits for).
`race_*`: then 50 claimers in one process, each repeatedly taking one of the 20 oldest items
still waiting (devkit.claims: agents pick from the top of the queue, so they collide): latency of an attempt
(won or lost; it includes waiting for the event loop shared by the 50 claimers and for the
connection pool), claims/s, attempts lost, and a check that every item was won exactly once. PostgreSQL is a throwaway
server from the Debian binaries (devkit.postgres).

    .venv/bin/python bench/claims.py
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.desk import queue  # noqa: E402
from bot.desk.access import Viewer  # noqa: E402
from bot.store.db import Database  # noqa: E402
from devkit.claims import race, seed  # noqa: E402
from devkit.postgres import create_pg_database, throwaway_postgres  # noqa: E402

CLAIMERS = 50
ITEMS = 1000
SEQUENTIAL = 300  # claims by one agent alone, before the race


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def sequential(db: Database, item_ids: list[int], viewer: Viewer) -> list[float]:
    """One agent claiming one item after another: the latency an agent's click waits for."""
    latencies = []
    for item_id in item_ids:
        started = time.perf_counter()
        async with db.uow() as session:  # as the web handler opens it
            await queue.claim(session, viewer, item_id, datetime.now(timezone.utc))
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def measure(url: str) -> dict[str, float]:
    db = Database(url)
    try:
        await db.migrate()
        item_ids, viewers = await seed(db, ITEMS + SEQUENTIAL, CLAIMERS)
        single = await sequential(db, item_ids[:SEQUENTIAL], viewers[0])
        started = time.perf_counter()
        winners, latencies, lost = await race(db, item_ids[SEQUENTIAL:], viewers)
        elapsed = time.perf_counter() - started
    finally:
        await db.dispose()
    assert sorted(winners) == sorted(item_ids[SEQUENTIAL:]) and all(len(w) == 1 for w in winners.values())
    return {"claim_p50_ms": statistics.median(single), "claim_p99_ms": percentile(single, 0.99),
            "race_claim_p50_ms": statistics.median(latencies), "race_claim_p99_ms": percentile(latencies, 0.99),
            "race_claims_per_s": ITEMS / elapsed, "race_attempts_lost": lost}


def claim_figures() -> dict[str, float]:
    """SQLite and PostgreSQL figures, prefixed `sqlite_` / `postgres_`."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="carebot-claims-") as work:
        sqlite = asyncio.run(measure(f"sqlite+aiosqlite:///{work}/claims.sqlite3"))
        figures.update({f"sqlite_{name}": value for name, value in sqlite.items()})
    with throwaway_postgres() as server:
        postgres = asyncio.run(measure(asyncio.run(create_pg_database(server))))
        figures.update({f"postgres_{name}": value for name, value in postgres.items()})
    return figures


if __name__ == "__main__":
    for name, value in claim_figures().items():
        print(f"{name}: {value:.2f}" if isinstance(value, float) else f"{name}: {value}")
