"""The models page's API (issue 12, item 3) on SQLite and PostgreSQL: admins only, activation
and its refusals, one training at a time across processes (and a dead holder's stale lock),
the deployment's test set; the page itself in Chromium: a regressing candidate trained from
the page with live progress, held back by the gate, activated, then rolled back."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect
from sqlalchemy import func, select, update

from bot.conversation import retraining
from bot.nlu import rasa_yaml
from bot.store import faq, nlu_models, training_jobs
from bot.store.models import AuditEntry, NluModel, NluTestExample, TrainingJob, TrainingLock
from tests import test_inbox_browser
from tests.agent_stack import AgentStack, call, login, wait_until
from tests.test_inbox_browser import DESKTOP
from tests.test_tickets_browser import logged_in
from tests.tiny_models import tiny_model, tiny_stack  # noqa: F401  (tiny_model: a fixture)

browser = test_inbox_browser.browser  # the fixture: Debian's Chromium through Playwright
API = "/api/v1/models"
MINE = AuditEntry.entity.in_(("nlu_model", "training_job", "nlu_test_set"))  # what this page records
# an FAQ whose examples sound like the tiny data's complaints: cross-validation mixes them up
REGRESSING_FAQ = """version: "3.1"
nlu:
- intent: faq/quality
  metadata:
    question: 质量怎么样？
  examples: |
    - 质量太差了吧
    - 我要投诉质量
    - 东西是坏的吗
    - 发错货了怎么办
responses:
  utter_faq/quality:
  - text: "质量问题请联系客服。"
"""


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


async def test_activation_rollback_and_refusals(stack: AgentStack):
    root = await stack.token("root")
    async with stack.rt.db.uow() as session:  # a model whose file was deleted since
        gone = await nlu_models.register(session, "f" * 64, str(Path(stack.rt.settings.home) / "nlu-gone.tar.gz"),
                                         {"calibration": {}}, datetime.now(timezone.utc))
        active = await nlu_models.active(session)
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", f"{stack.base}{API}", headers=root)
        assert status == 200 and [m["active"] for m in body["models"]] == [False, True]
        assert body["models"][1]["cv_accuracy"] > 0.5 and body["models"][1]["recall"]["greet"] > 0
        status, body = await call(http, "POST", f"{stack.base}{API}/{gone.id}/activate", headers=root)
        assert status == 409 and "文件已被删除" in body["error"]
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
        assert await count(stack, TrainingJob) == 1  # the refused one left nothing behind

        async with stack.rt.db.uow() as session:  # its process died: no heartbeat for two minutes
            await session.execute(update(TrainingLock).values(
                heartbeat_at=datetime.now(timezone.utc) - timedelta(minutes=2)))
        status, body = await call(http, "POST", f"{stack.base}{API}/train", headers=root)
        assert status == 202, body
        job = body["job"]
        async with stack.rt.db.sessions() as session:
            abandoned = await session.get(TrainingJob, elsewhere)
        assert abandoned.state == "failed" and abandoned.error == training_jobs.ABANDONED

        status, body = await call(http, "POST", f"{stack.base}{API}/train", headers=root, json={"force": False})
        assert status == 409 and body["job"] == job  # started twice

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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_page_trains_with_live_progress_holds_back_activates_and_rolls_back(
        browser: Browser, stack: AgentStack, tmp_path: Path):
    page = await logged_in(browser, stack, "root", DESKTOP)
    await page.get_by_role("link", name="模型").click()
    await expect(page).to_have_url(f"{stack.base}/admin/models")
    first = page.locator("#model-list tr[data-model]")
    await expect(first).to_have_count(1)
    await expect(first.locator(".state")).to_contain_text("当前使用")

    await page.locator("#testset-lines").fill("greet\t你好呀\ncomplain\t收到的东西是坏的")
    await page.get_by_role("button", name="添加到测试集").click()
    await expect(page.locator("#testset-list tr[data-example]")).to_have_count(2)

    bad = tmp_path / "regressing.yml"  # an admin's bad edit (the FAQ pages' import does the same)
    bad.write_text(REGRESSING_FAQ, encoding="utf-8")
    async with stack.rt.db.uow() as session:
        await faq.upsert(session, rasa_yaml.read_faq(bad), replace=False)
    await page.get_by_role("button", name="开始训练").click()
    await expect(page.locator("#training")).to_have_attribute("data-state", "running")
    await expect(page.get_by_role("button", name="开始训练")).to_be_disabled()
    log = page.locator("#training-log")
    await expect(log).to_contain_text("Training the NLU model", timeout=30_000)  # polled, no reload
    await expect(page.locator("#training")).to_have_attribute("data-state", "held_back", timeout=120_000)
    await expect(page.locator(".verdict")).to_contain_text("未启用")
    await expect(page.locator("#training .reasons")).to_contain_text("accuracy")
    await expect(log).to_contain_text("test set")

    rows = page.locator("#model-list tr[data-model]")
    await expect(rows).to_have_count(2)
    candidate, good = rows.nth(0), rows.nth(1)
    await expect(candidate).to_have_class("candidate")
    await expect(candidate.locator(".state")).to_contain_text("候选")
    await expect(candidate.locator(".testset")).to_contain_text("%（2 条）")
    await expect(good.locator(".state")).to_contain_text("当前使用")
    candidate_id, good_id = int(await candidate.get_attribute("data-model")), int(await good.get_attribute("data-model"))

    await candidate.get_by_role("button", name="启用").click()  # an admin accepts it anyway
    await expect(page.locator(f"tr[data-model='{candidate_id}'] .state")).to_contain_text("当前使用")
    assert await wait_until(lambda: _serving(stack, candidate_id), timeout=60)  # the server swapped to it

    await page.locator(f"tr[data-model='{good_id}']").get_by_role("button", name="回滚到此模型").click()
    await expect(page.locator(f"tr[data-model='{good_id}'] .state")).to_contain_text("当前使用")
    await expect(page.locator(f"tr[data-model='{candidate_id}'] .state")).not_to_contain_text("当前使用")
    assert await wait_until(lambda: _serving(stack, good_id), timeout=60)
    async with stack.rt.db.sessions() as session:
        actions = list((await session.execute(select(AuditEntry.action).where(MINE).order_by(AuditEntry.id))).scalars())
    assert actions == ["testset.add", "model.train", "model.activate", "model.activate"]


async def _serving(stack: AgentStack, model_id: int) -> bool:
    async with stack.rt.db.sessions() as session:
        model = await session.get(NluModel, model_id)
    return stack.rt.pool.model_path == model.path
