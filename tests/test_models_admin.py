"""The models page's API (issue 12, item 3) on SQLite and PostgreSQL: admins only, activation
and its refusals, one training at a time across processes (and a dead holder's stale lock),
the deployment's test set. The page itself in Chromium: tests/test_admin_console_browser.py."""
from __future__ import annotations

import asyncio
import io
import json
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import func, select, update

from bot.conversation import retraining
from bot.nlu.archive import model_calibration
from bot.store import nlu_models, training_jobs
from bot.store.models import AuditEntry, NluTestExample, TrainingJob, TrainingLock
from tests.agent_stack import AgentStack, call, login, wait_until
from tests.conftest import carebot_env, run_carebot
from tests.tiny_models import TINY_ENV, tiny_model, tiny_stack  # noqa: F401  (tiny_model: a fixture)

API = "/api/v1/models"
MINE = AuditEntry.entity.in_(("nlu_model", "training_job", "nlu_test_set"))  # what this page records


@pytest_asyncio.fixture
async def stack(tiny_model: Path, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    async with tiny_stack(tiny_model, database_url, tmp_path, monkeypatch) as running:
        yield running


async def count(stack: AgentStack, model, *where) -> int:
    async with stack.rt.db.sessions() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def job_state(stack: AgentStack, job_id: int) -> str:
    async with stack.rt.db.sessions() as session:
        return (await session.get(TrainingJob, job_id)).state


async def test_admins_only(stack: AgentStack):
    alice = await stack.token("alice")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # cookies for 127.0.0.1
        for method, path in (("GET", API), ("POST", API + "/1/activate"), ("POST", API + "/train"),
                             ("POST", API + "/testset"), ("DELETE", API + "/testset/1")):
            status, body = await call(http, method, f"{stack.base}/api/v1{path[7:]}", headers=alice, json={})
            assert status == 403 and body["error"], (method, path, status, body)
        await login(http, stack.base, "alice")
        async with http.get(f"{stack.base}/admin/models") as page:
            assert page.status == 403 and "仅管理员" in await page.text()
    assert await count(stack, TrainingJob) == 0 and await count(stack, AuditEntry, MINE) == 0


def old_format_model(path: Path) -> Path:
    """A model archive as carebot wrote them before the sentence vectors: its calibration has no
    format (the worker could not serve its classifier)."""
    data = json.dumps({"answer_threshold": 0.3, "cv_accuracy": 0.9}).encode()
    member = tarfile.TarInfo("components/train_CalibratedIntentClassifier2/calibration.json")
    member.size = len(data)
    with tarfile.open(path, "w:gz") as archive:
        archive.addfile(member, io.BytesIO(data))
    return path


async def test_activation_rollback_and_refusals(stack: AgentStack):
    root = await stack.token("root")
    async with stack.rt.db.uow() as session:  # a model whose file was deleted since, and one from an older carebot
        gone = await nlu_models.register(session, "f" * 64, str(Path(stack.rt.settings.home) / "nlu-gone.tar.gz"),
                                         {"calibration": {}}, datetime.now(timezone.utc))
        old_file = str(old_format_model(Path(stack.rt.settings.home) / "nlu-old.tar.gz"))
        # registered as the service registers a model file it finds: with its archive's calibration
        old = await nlu_models.register(session, "e" * 64, old_file, {"calibration": model_calibration(old_file)},
                                        datetime.now(timezone.utc))
        active = await nlu_models.active(session)
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", f"{stack.base}{API}", headers=root)
        assert status == 200 and [m["active"] for m in body["models"]] == [False, False, True]
        assert body["models"][2]["cv_accuracy"] > 0.5 and body["models"][2]["recall"]["greet"] > 0
        status, body = await call(http, "POST", f"{stack.base}{API}/{gone.id}/activate", headers=root)
        assert status == 409 and "文件已被删除" in body["error"]
        status, body = await call(http, "POST", f"{stack.base}{API}/{old.id}/activate", headers=root)
        assert status == 409 and "旧版" in body["error"] and "重新训练" in body["error"]
        status, body = await call(http, "POST", f"{stack.base}{API}/9999/activate", headers=root)
        assert status == 404 and "9999" in body["error"]
        status, body = await call(http, "POST", f"{stack.base}{API}/x/activate", headers=root)
        assert status == 400
    async with stack.rt.db.sessions() as session:
        assert (await nlu_models.active(session)).id == active.id  # nothing changed
    assert await count(stack, AuditEntry, MINE) == 0


async def test_one_training_at_a_time_and_a_stale_lock(stack: AgentStack):
    root = await stack.token("root")
    elsewhere = await retraining.begin(stack.rt.db, "cli")  # `carebot train` in another process
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "POST", f"{stack.base}{API}/train", headers=root)
        assert status == 409 and "已有训练在进行中" in body["error"] and body["job"] == elsewhere
        cli = await asyncio.to_thread(run_carebot, ["train"], carebot_env(
            stack.rt.settings.home / "cli", stack.rt.settings.database_url, **TINY_ENV))
        assert cli.returncode == 2 and f"not started: training {elsewhere} is running (started by cli" in cli.stderr
        assert await count(stack, TrainingJob) == 1  # the refused ones left nothing behind

        async with stack.rt.db.uow() as session:  # its process died: no heartbeat for two minutes
            await session.execute(update(TrainingLock).values(
                heartbeat_at=datetime.now(timezone.utc) - timedelta(minutes=2)))
        # two admins click at once: one job starts, the other is told which one runs (sent together,
        # since a job with nothing new to train ends within milliseconds and frees the lock)
        answers = await asyncio.gather(*(call(http, "POST", f"{stack.base}{API}/train", headers=root,
                                              json={"force": False}) for _ in range(2)))
        assert sorted(status for status, _ in answers) == [202, 409], answers
        job = next(body["job"] for status, body in answers if status == 202)
        assert next(body for status, body in answers if status == 409)["job"] == job
        async with stack.rt.db.sessions() as session:
            abandoned = await session.get(TrainingJob, elsewhere)
        assert abandoned.state == "failed" and abandoned.error == training_jobs.ABANDONED

        assert await wait_until(lambda: _finished(stack, job), timeout=120)
        status, body = await call(http, "GET", f"{stack.base}{API}/training/{job}", headers=root)
        assert status == 200 and body["state"] == "activated", body
        assert any("nothing new to train" in line for line in body["log"])
        async with stack.rt.db.sessions() as session:
            assert (await session.get(TrainingLock, 1)).job_id is None  # released
        status, body = await call(http, "POST", f"{stack.base}{API}/train", headers=root, json={"force": "yes"})
        assert status == 422


async def _finished(stack: AgentStack, job: int) -> bool:
    return await job_state(stack, job) != "running"


async def test_test_set_lines(stack: AgentStack):
    root = await stack.token("root")
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "POST", f"{stack.base}{API}/testset", headers=root,
                                  json={"lines": "greet\t你好呀\ncomplain 东西是坏的\n只有消息"})
        assert status == 422 and "第 3 行" in body["error"]
        status, body = await call(http, "POST", f"{stack.base}{API}/testset", headers=root,
                                  json={"lines": "Greet!\t你好呀"})
        assert status == 422 and "意图名无效" in body["error"]
        assert await count(stack, NluTestExample) == 0  # nothing half-written
        status, body = await call(http, "POST", f"{stack.base}{API}/testset", headers=root,
                                  json={"lines": "greet\t你好呀\n\ncomplain 东西是坏的\nfaq/refund_time\t钱几天退回"})
        assert status == 201 and body == {"added": 3}
        status, body = await call(http, "POST", f"{stack.base}{API}/testset", headers=root,
                                  json={"lines": "complain\t你好呀"})  # relabelled, not doubled
        assert status == 201 and body == {"added": 0}
        status, body = await call(http, "GET", f"{stack.base}{API}", headers=root)
        rows = {e["text"]: e for e in body["testset"]}
        assert rows["你好呀"]["intent"] == "complain" and len(rows) == 3 and body["testset_id"]
        status, _ = await call(http, "DELETE", f"{stack.base}{API}/testset/{rows['你好呀']['id']}", headers=root)
        assert status == 204
        status, _ = await call(http, "DELETE", f"{stack.base}{API}/testset/{rows['你好呀']['id']}", headers=root)
        assert status == 404
    assert await count(stack, NluTestExample) == 2
    assert await count(stack, AuditEntry, AuditEntry.action.like("testset.%")) == 3  # two adds, one removal
