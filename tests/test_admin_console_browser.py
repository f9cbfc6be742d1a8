"""Issue 12's admin flows end to end in headless Chromium, on the tiny model, with two
trainings in all (each a real Rasa training):

1. a message the bot cannot place becomes a miss; the admin creates an FAQ with examples on
   the FAQ page and labels the miss as one of its examples on the misses page; trains on the
   models page (a second tab's start is refused: one training at a time) with live progress;
   the gate activates the model, the server swaps to it, the customer's message is answered
   and `carebot ask` answers the FAQ and classifies the labelled miss;
2. the admin labels test set messages on the models page, then makes a bad edit (the FAQ is
   replaced by another); the next model gets the test set wrong and is held back with the
   reasons; activated anyway, rolled back in one click, and a rollback to a model whose file
   was deleted is refused with a message, the active model unchanged.

The models this test trains go to a models directory of its own, so every run trains them
(the live progress is that of a real training) and deleting a file harms no other test.
"""
from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect
from sqlalchemy import func, select

from bot.desk import faq_admin
from bot.store import faq
from bot.store.models import AuditEntry, FaqIntent, NluModel, TrainingJob
from tests import test_inbox_browser
from tests.agent_stack import AgentStack, wait_until
from tests.conftest import carebot_env, run_carebot
from tests.test_inbox_browser import DESKTOP, logged_in
from tests.tiny_models import TINY_ENV, tiny_model, tiny_stack  # noqa: F401  (tiny_model: a fixture)

browser = test_inbox_browser.browser  # the fixture: Debian's Chromium through Playwright
# no 吗 in the FAQ's phrasings: with the tiny data's greetings (在吗, 有人吗) cross-validation would mix them up
MISS = "首饰上刻英文字母"
EXAMPLES = "能不能刻字\n刻字收费\n戒指上刻名字\n首饰刻字多少钱"
ANSWER = "下单时备注刻字内容即可，免费刻字，最多 8 个字。"
TEST_SET = "faq/engraving\t能不能刻字\nfaq/engraving\t刻字收费\nfaq/engraving\t首饰刻字多少钱\ngreet\t你好"
MODEL_ACTIONS = AuditEntry.entity.in_(("nlu_model", "training_job", "nlu_test_set"))


@pytest_asyncio.fixture
async def stack(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy2(tiny_model, models / tiny_model.name)  # the first model: found, not trained again
    async with tiny_stack(tiny_model, f"sqlite+aiosqlite:///{tmp_path / 'carebot.sqlite3'}", tmp_path, monkeypatch,
                          CAREBOT_MODELS_DIR=str(models)) as running:
        yield running


async def _serving(stack: AgentStack, model_id: int) -> bool:
    async with stack.rt.db.sessions() as session:
        model = await session.get(NluModel, model_id)
    return stack.rt.pool.model_path == model.path


async def _count(stack: AgentStack, model) -> int:
    async with stack.rt.db.sessions() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def _train_on_the_page(page: Page, refused_tab: Page | None = None) -> None:
    await page.get_by_role("button", name="开始训练").click()
    await expect(page.locator("#training")).to_have_attribute("data-state", "running")
    await expect(page.get_by_role("button", name="开始训练")).to_be_disabled()
    if refused_tab is not None:  # opened before the training started: its button is still enabled
        await refused_tab.get_by_role("button", name="开始训练").click()
        await expect(refused_tab.locator("#models-error")).to_contain_text("已有训练在进行中")
    await expect(page.locator("#training-log")).to_contain_text("Training the NLU model", timeout=60_000)  # polled
    await expect(page.locator("#training")).not_to_have_attribute("data-state", "running", timeout=240_000)


async def _ask(stack: AgentStack, tmp_path: Path, *texts: str) -> dict[str, dict]:
    env = carebot_env(tmp_path / "cli", stack.rt.settings.database_url, **TINY_ENV,
                      CAREBOT_MODELS_DIR=str(stack.rt.settings.models_dir))
    result = await asyncio.to_thread(run_carebot, ["ask", "--json", *texts], env)
    assert result.returncode == 0, result.stderr[-2000:]
    return {row["text"]: row for row in map(json.loads, result.stdout.splitlines())}


async def test_faq_miss_train_gate_ask_then_a_regression_held_back_and_rolled_back(
        browser: Browser, stack: AgentStack, tmp_path: Path):  # noqa: F811
    before = await stack.push(MISS, "oAdminFlow000000000000001")
    assert before.reply and ANSWER not in before.reply["Content"]
    page = await logged_in(browser, stack, "root", DESKTOP)
    await expect(page.locator("#nav-misses .count")).to_have_text("1")

    # an FAQ with examples, created on the FAQ page
    await page.goto(f"{stack.base}/admin/faq/new")
    await page.get_by_label("名称").fill("faq/engraving")
    await page.get_by_label("标题问题").fill("刻字怎么收费？")
    await page.get_by_label("默认答案").fill(ANSWER)
    await page.get_by_label("例句").fill(EXAMPLES)
    await page.get_by_role("button", name="保存").click()
    await expect(page.locator("#faq-saved")).to_have_text("已保存")
    await expect(page.locator("#model-banner")).to_be_visible()

    # the miss, labelled as one of its examples
    await page.locator("#nav-misses").click()
    miss = page.locator("tr.miss").filter(has_text=MISS)
    await miss.get_by_label("加为哪个意图的例句").select_option("faq/engraving")
    await miss.get_by_role("button", name="加为例句").click()
    await expect(page.locator("#misses-list")).to_contain_text("没有待处理的问题")

    # trained from the models page; a second start, from another tab, is refused
    await page.get_by_role("link", name="模型").click()
    other_tab = await page.context.new_page()
    await other_tab.goto(f"{stack.base}/admin/models")
    await _train_on_the_page(page, refused_tab=other_tab)
    await expect(page.locator("#training")).to_have_attribute("data-state", "activated")
    await expect(page.locator(".verdict")).to_contain_text("已启用")
    rows = page.locator("#model-list tr[data-model]")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0).locator(".state")).to_contain_text("当前使用")
    await expect(page.locator("#model-banner")).to_have_count(0)  # the model knows the FAQs as they are
    taught, first = int(await rows.nth(0).get_attribute("data-model")), int(await rows.nth(1).get_attribute("data-model"))
    assert await _count(stack, TrainingJob) == 1  # the refused start left nothing behind
    assert await wait_until(lambda: _serving(stack, taught), timeout=60)  # the server swapped to it

    after = await stack.push(MISS, "oAdminFlow000000000000002")
    assert after.reply and after.reply["Content"] == ANSWER
    asked = await _ask(stack, tmp_path, "刻字怎么收费", MISS)
    assert {text: (row["intent"], row["action"]) for text, row in asked.items()} == {
        "刻字怎么收费": ("faq/engraving", "answer_faq"), MISS: ("faq/engraving", "answer_faq")}
    assert asked["刻字怎么收费"]["reply"] == ANSWER

    # the deployment's test set, then a bad edit: the FAQ its messages need is replaced by another
    await page.locator("#testset-lines").fill(TEST_SET)
    await page.get_by_role("button", name="添加到测试集").click()
    await expect(page.locator("#testset-list tr[data-example]")).to_have_count(4)
    async with stack.rt.db.sessions() as session:
        engraving = (await session.execute(select(FaqIntent.id).where(FaqIntent.name == "faq/engraving"))).scalar_one()
    now = datetime.now(timezone.utc)
    await faq_admin.delete(stack.rt.db, actor="root", intent_id=engraving, now=now)
    await faq_admin.create(stack.rt.db, actor="root", now=now, record=faq.FaqRecord(
        "faq/gift_card", "礼品卡怎么用？", ("礼品卡怎么用", "礼品卡能退吗", "礼品卡在哪里输入"), "礼品卡可在结算页使用。"))

    await _train_on_the_page(page)
    await expect(page.locator("#training")).to_have_attribute("data-state", "held_back")
    await expect(page.locator(".verdict")).to_contain_text("未启用")
    await expect(page.locator("#training .reasons")).to_contain_text("on the deployment's test set, accuracy")
    await expect(rows).to_have_count(3)
    candidate = rows.nth(0)
    regressing = int(await candidate.get_attribute("data-model"))
    await expect(candidate).to_have_class("candidate")
    await expect(candidate.locator(".state")).to_contain_text("候选")
    await expect(candidate.locator(".state .reasons")).to_contain_text("test set")
    await expect(page.locator(f"tr[data-model='{taught}'] .testset")).to_have_text("100.0%（4 条）")
    await expect(page.locator(f"tr[data-model='{taught}'] .state")).to_contain_text("当前使用")
    assert await _serving(stack, taught)

    await candidate.get_by_role("button", name="启用").click()  # an admin accepts it anyway
    await expect(page.locator(f"tr[data-model='{regressing}'] .state")).to_contain_text("当前使用")
    assert await wait_until(lambda: _serving(stack, regressing), timeout=60)
    await page.locator(f"tr[data-model='{taught}']").get_by_role("button", name="回滚到此模型").click()
    await expect(page.locator(f"tr[data-model='{taught}'] .state")).to_contain_text("当前使用")
    assert await wait_until(lambda: _serving(stack, taught), timeout=60)

    # a rollback to a model whose file was deleted since the page was loaded
    async with stack.rt.db.sessions() as session:
        Path((await session.get(NluModel, regressing)).path).unlink()
    await page.locator(f"tr[data-model='{regressing}']").get_by_role("button", name="回滚到此模型").click()
    await expect(page.locator("#models-error")).to_contain_text(f"模型 {regressing} 的文件已被删除，无法启用")
    await expect(page.locator(f"tr[data-model='{regressing}'] .state")).to_contain_text("文件已删除")
    await expect(page.locator(f"tr[data-model='{taught}'] .state")).to_contain_text("当前使用")
    assert await _serving(stack, taught) and first != taught
    async with stack.rt.db.sessions() as session:
        actions = list((await session.execute(select(AuditEntry.action).where(MODEL_ACTIONS)
                                              .order_by(AuditEntry.id))).scalars())
    assert actions == ["model.train", "testset.add", "model.train", "model.activate", "model.activate"]
    assert await page.evaluate("window.__refused") == []  # nothing inline for the CSP to refuse
