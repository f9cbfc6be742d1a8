"""Claim-race helpers shared by the claim tests and the claim benchmark (bench/claims.py).

`seed` fills an account's queue with waiting items and admins to take them; `race` lets the
agents claim from the head of the queue at once, as people do, so that they collide.
"""
from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timezone

from bot.desk import queue
from bot.desk.access import Viewer
from bot.store.db import Database
from bot.store.inbox import PRIORITY_RANK
from bot.store.models import Account, Agent, Customer, InboxItem, Thread

HEAD = 20  # claimers pick among this many of the oldest waiting items


async def seed(db: Database, items: int, agents: int) -> tuple[list[int], list[Viewer]]:
    """An account with `items` threads waiting in the queue and `agents` admins to claim them."""
    now = datetime.now(timezone.utc)
    async with db.uow() as session:
        account = Account(platform="wechat", slug="claims", name="claims")
        session.add(account)
        await session.flush()
        customers = [Customer(account_id=account.id, platform="wechat", external_id=f"o-claim-{n}")
                     for n in range(items)]
        session.add_all(customers)
        await session.flush()
        threads = [Thread(account_id=account.id, customer_id=c.id, owner="queue") for c in customers]
        session.add_all(threads)
        await session.flush()
        rows = [InboxItem(thread_id=t.id, reason="requested_human", priority="normal",
                          priority_rank=PRIORITY_RANK["normal"], enqueued_at=now) for t in threads]
        people = [Agent(username=f"claimer{n}", display_name=f"claimer{n}", role="admin") for n in range(agents)]
        session.add_all(rows + people)
        await session.flush()
        return [r.id for r in rows], [Viewer(p.id, p.username, p.display_name, "admin", None) for p in people]


async def race(db: Database, item_ids: list[int], viewers: list[Viewer], seed_value: int = 7
               ) -> tuple[dict[int, list[int]], list[float], int]:
    """All viewers claim until nothing waits: (item -> winners, latencies in ms, attempts lost)."""
    waiting = sorted(item_ids)
    winners: dict[int, list[int]] = {}
    latencies: list[float] = []
    lost = 0

    async def claimer(viewer: Viewer, rng: random.Random) -> None:
        nonlocal lost
        while waiting:
            item_id = rng.choice(waiting[:HEAD])
            started = time.perf_counter()
            try:
                async with db.uow() as session:  # as the web handler opens it
                    await queue.claim(session, viewer, item_id, datetime.now(timezone.utc))
            except queue.ClaimConflict:
                lost += 1
                won = False
            else:
                won = True
            latencies.append((time.perf_counter() - started) * 1000)
            if won:
                winners.setdefault(item_id, []).append(viewer.id)
                waiting.remove(item_id)

    await asyncio.gather(*(claimer(v, random.Random(seed_value + n)) for n, v in enumerate(viewers)))
    return winners, latencies, lost
