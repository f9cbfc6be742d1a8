"""The hot swap under load (issue 12): a real `carebot serve` answers 2,000 WeChat pushes
(signed, through its real webhook; the fake WeChat API takes the late replies) while an admin
activates another model with `carebot model activate`. Zero failed requests, every message
stored once and answered once, and the swap happened in the middle of the load.

The second model is the tiny one (tests/data/tiny_nlu), registered in the same registry, so
the new worker loads in seconds; the pushes are paced (about 40 a second) so that the load
spans the server noticing the activation and starting the new worker.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import aiohttp

from bot.nlu.archive import model_calibration
from bot.store import nlu_models
from bot.store.db import Database
from devkit import wechat_push as wx
from tests.conftest import run_carebot
from tests.e2e import wait_for
from tests.servers import Served, free_ports
from tests.test_durable_intake import TOKEN, Sent, _env, answers, fake_api, messages, rows  # noqa: F401
from tests.tiny_models import tiny_model  # noqa: F401  (a fixture)

PUSHES = 2000
GAP = 0.025  # seconds between pushes: the load lasts about 50 s
CONCURRENCY = 32


async def test_model_activated_under_load_zero_failures(trained_model: Path, tiny_model: Path,  # noqa: F811
                                                        fake_api, tmp_path: Path):  # noqa: F811
    api_base, api = fake_api
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'carebot.sqlite3'}"
    env = _env(tmp_path, database_url, api_base)
    assert run_carebot(["train"], env).returncode == 0  # the default model (cached), active
    db = Database(database_url)
    async with db.uow() as session:  # the tiny model's file, registered as `carebot train` would
        tiny = await nlu_models.register(session, tiny_model.name[4:24], str(tiny_model),
                                         {"calibration": model_calibration(str(tiny_model))},
                                         datetime.now(timezone.utc))
    sent = messages(PUSHES, "SWAP")
    for message in sent:
        api.user_message(message.openid)
    server = Served(env, free_ports(1)[0], tmp_path / "serve.log")
    results: dict[str, wx.PushResult] = {}
    switched_at: list[int] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http:
            await server.ready(http)
            before = await _model(http, server.base)

            async def one(message: Sent) -> None:
                results[message.key] = await wx.push(f"{server.base}/webhooks/wechat/brand", TOKEN, message.xml,
                                                     session=http)

            async def watch() -> None:  # when the server's answering worker changed model
                while await _model(http, server.base) == before:
                    await asyncio.sleep(0.2)
                switched_at.append(len(results))

            watcher = asyncio.create_task(watch())
            pushes = []
            for number, message in enumerate(sent):
                if number == PUSHES // 10:
                    activated = asyncio.create_task(asyncio.to_thread(
                        run_carebot, ["model", "activate", str(tiny.id)], env))
                pushes.append(asyncio.create_task(one(message)))
                await asyncio.sleep(GAP)
            await asyncio.gather(*pushes)
            assert (await activated).returncode == 0
            await asyncio.wait_for(watcher, 60)
            passive = {key: r.reply is not None for key, r in results.items()}

            async def settled() -> bool:  # every message decided, every reply out
                inbound, replies = await rows(db)
                return (len(inbound) == PUSHES and all(m.state == "handled" for m in inbound)
                        and all(r.state in ("passive", "sent", "failed") for r in replies))

            assert await wait_for(settled, 120)
            await asyncio.sleep(1.0)  # anything sent twice would arrive now
            seen = await answers(db, sent, passive, api)
            assert await _model(http, server.base) == str(tiny_model)
    finally:
        server.stop()
        await db.dispose()
    statuses = Counter(r.status for r in results.values())
    got = Counter(seen["got"].values())
    print(f"\nswap under load: {PUSHES} pushes, statuses {dict(statuses)}, swapped after {switched_at} answers, "
          f"answered passively {sum(passive.values())}, answers per message {dict(got)}")
    assert statuses == Counter({200: PUSHES}), statuses  # zero failed requests
    assert 0 < switched_at[0] < PUSHES * 0.9, switched_at  # the swap happened under load
    assert max(seen["rows_per_key"].values()) == 1 and len(seen["rows_per_key"]) == PUSHES
    assert all(n == 1 for n in seen["replies_per_key"].values())  # one answer decided per message
    assert got == Counter({1: PUSHES}) and not seen["failed"]  # each delivered exactly once


async def _model(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(f"{base}/healthz") as response:
        return (await response.json())["model"]
