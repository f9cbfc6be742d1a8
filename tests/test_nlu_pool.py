"""The NLU worker processes: batching, bad requests, hot swap under load, supervision."""
import asyncio
import json
import os
import subprocess
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.nlu.pool import SERVING_THREADS, NluPool, worker_command
from bot.settings import PROJECT_ROOT, Settings
from tests.conftest import carebot_env, make_settings, run_carebot

TINY = PROJECT_ROOT / "tests" / "data" / "tiny_nlu"


def tiny_env(home: Path) -> dict:
    return carebot_env(home, CAREBOT_NLU_DATA=str(TINY), CAREBOT_NLU_CONFIG=str(TINY / "config.yml"))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model of its own (seconds to train) to swap to."""
    home = tmp_path_factory.mktemp("tiny-home")
    env = dict(tiny_env(home), CAREBOT_MODELS_DIR=str(home / "models"))
    result = run_carebot(["train"], env)
    assert result.returncode == 0, result.stderr[-2000:]
    return next((home / "models").glob("nlu-*.tar.gz"))


@pytest_asyncio.fixture(scope="module")
async def pool(trained_model: Path, tmp_path_factory: pytest.TempPathFactory):
    """Two workers for the module (worker starts are the slow part); the swap test runs last."""
    settings = make_settings(tmp_path_factory.mktemp("pool"), "sqlite+aiosqlite:///:memory:",
                             CAREBOT_NLU_WORKERS="2")
    pool = NluPool(settings)
    await pool.start(str(trained_model))
    yield pool
    await pool.close()


async def test_several_texts_per_request_keep_their_order(pool: NluPool):
    parses = await pool.parse(["怎么开发票", "转人工", "退款多久到账"])
    assert [p.intent for p in parses] == ["faq/invoice", "request_human", "faq/refund_time"]
    assert all(0 < p.confidence <= 1 and p.ranking and 0 <= p.similarity <= 1 for p in parses)


async def test_parses_asked_together_go_as_one_batch(pool: NluPool):
    before = await _health(pool)
    texts = [f"订单{i}什么时候发货" for i in range(40)]
    parses = await asyncio.gather(*(pool.parse([text]) for text in texts))
    after = await _health(pool)
    assert all(p[0].intent == "faq/shipping_time" for p in parses)
    assert sum(a["texts"] - b["texts"] for a, b in zip(after, before)) == 40
    assert sum(a["batches"] - b["batches"] for a, b in zip(after, before)) == 1  # one request, one graph run


async def test_a_batch_scores_each_text_as_if_it_were_alone(pool: NluPool):
    """The components score a whole batch with one matrix product: no text may change another's
    score, and every text must get its own result back (order, featureless texts)."""
    holdout = (PROJECT_ROOT / "tests" / "data" / "holdout.tsv").read_text(encoding="utf-8").splitlines()
    texts = [line.split("\t")[1] for line in holdout[::2] if line.strip()]
    texts[5:5] = ["", "嗯" * 300, "？？"]  # nothing to read, the longest text, punctuation only
    together = await pool.parse(texts)
    alone = [(await pool.parse([text]))[0] for text in texts]
    assert [p.intent for p in together] == [p.intent for p in alone]
    assert len({p.intent for p in alone}) > 20
    for batched, single in zip(together, alone, strict=True):
        assert batched.confidence == pytest.approx(single.confidence, abs=2e-4)
        assert [r["name"] for r in batched.ranking[:3]] == [r["name"] for r in single.ranking[:3]]
        # rounded to 4 places: a batch's matrix product and a single text's sum in another order, so a
        # value on a rounding boundary may land one step apart
        assert batched.similarity == pytest.approx(single.similarity, abs=1.5e-4)


async def test_a_text_starting_with_a_slash_is_read_by_the_models(pool: NluPool):
    """Rasa takes "/complain" for an intent typed by hand and skips the models: "/ 怎么退货" was declined."""
    said, slashed, named = await pool.parse(["怎么退货", " / /怎么退货", "/complain"])
    assert (slashed.intent, slashed.confidence) == (said.intent, pytest.approx(said.confidence, abs=2e-4))
    assert said.intent == "faq/return_policy"
    assert named.tone is not None and named.confidence < 1.0  # the shortcut sets no tone and 1.0


async def test_worker_rejects_bad_requests(pool: NluPool):
    async with aiohttp.ClientSession() as http:
        for body in (b"not json", json.dumps({"texts": "一句话"}).encode(), json.dumps({"texts": []}).encode()):
            async with http.post(pool.workers[0].url + "/parse", data=body) as response:
                assert response.status == 400 and "error" in await response.json()


async def test_dead_worker_is_restarted(pool: NluPool):
    supervisor = asyncio.create_task(pool.supervise(interval=0.2))
    try:
        victim = pool.workers[0]
        victim.process.kill()
        await victim.process.wait()
        parses = await pool.parse(["你好"])  # the other worker answers meanwhile
        assert parses[0].intent == "greet"
        for _ in range(600):
            if victim.alive and victim.url:
                break
            await asyncio.sleep(0.2)
        assert victim.alive
        assert (await pool.parse(["你好"]))[0].intent == "greet"
    finally:
        supervisor.cancel()


def test_cross_validation_report(tmp_path: Path):
    result = run_carebot(["nlu", "evaluate", "--folds", "2"], tiny_env(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 folds" in result.stdout and "worst confusions" in result.stdout
    assert "faq/refund_time" in result.stdout and "precision" in result.stdout


async def test_hot_swap_under_load_loses_no_parse(pool: NluPool, tiny_model: Path, trained_model: Path):
    old = list(pool.workers)
    errors: list[BaseException] = []
    done = asyncio.Event()

    async def load() -> int:
        count = 0
        while not done.is_set():
            try:
                await pool.parse(["退款多久到账"])
                count += 1
            except Exception as exc:  # any failed parse during the swap is a bug
                errors.append(exc)
        return count

    callers = [asyncio.create_task(load()) for _ in range(8)]
    await pool.swap(str(tiny_model))
    await asyncio.sleep(0.5)
    done.set()
    counts = await asyncio.gather(*callers)
    assert not errors and sum(counts) > 0
    assert pool.model_path == str(tiny_model)
    assert all(w.process.returncode is not None for w in old)  # the old workers were stopped
    assert not {w.process.pid for w in old} & {w.process.pid for w in pool.workers}
    health = await _health(pool)
    assert all(h["model"] == tiny_model.name.split(".tar.gz")[0] for h in health)
    # the model and its libraries are out of garbage collection: a full collection no longer walks them all
    assert all(h["frozen_objects"] > 100_000 for h in health), [h["frozen_objects"] for h in health]


async def _health(pool: NluPool) -> list[dict]:
    async with aiohttp.ClientSession() as http:
        results = []
        for worker in pool.workers:
            async with http.get(worker.url + "/health") as response:
                results.append(await response.json())
        return results


BLAS_THREADS = ("import numpy, threadpoolctl; "
                "print(max(p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas'))")


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: every process computes on one thread anyway")
def test_a_serving_worker_computes_on_one_thread_and_training_on_every_core(monkeypatch: pytest.MonkeyPatch):
    """One worker per core: a serving worker's own BLAS threads only fought the other workers and
    the service for the cores (the webhook benchmark's workers spent half their CPU so)."""
    for name in SERVING_THREADS:
        monkeypatch.delenv(name, raising=False)
    threads = {}
    for mode in ("serve", "train"):
        command, env = worker_command(Settings.from_env(), mode)
        done = subprocess.run([command[0], "-c", BLAS_THREADS], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        threads[mode] = int(done.stdout)
    assert threads["serve"] == 1 and threads["train"] > 1, threads
