"""The FAQ admin page in real headless Chromium: create an FAQ with examples, see that the
model is out of date, edit its answer, upload a broken YAML file (its line is shown) and one
with an answer too long for a message (how it will be sent is shown)."""
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from bot.nlu.pool import NluPool
from tests.agent_stack import PASSWORD, AgentStack, staffed_stack
from tests.test_faq_admin import BANNER, BROKEN_YAML, GOOD_YAML
from tests.test_inbox_browser import CSP_WATCH, DESKTOP, browser  # noqa: F401  (the fixture)


@pytest_asyncio.fixture
async def stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    async with staffed_stack(nlu_pool, database_url, tmp_path, monkeypatch, {}, admins=("root",)) as running:
        yield running


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_create_edit_and_import_on_the_page(browser: Browser, stack: AgentStack, tmp_path: Path):  # noqa: F811
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    await context.add_init_script(CSP_WATCH)
    page = await context.new_page()
    await page.goto(f"{stack.base}/admin/faq")
    await page.get_by_label("用户名").fill("root")
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{stack.base}/admin/faq")
    await expect(page.locator("#model-banner")).to_have_count(0)  # the model knows the FAQs as they are

    await page.get_by_role("link", name="新增 FAQ").click()
    await page.get_by_label("名称").fill("faq/engraving")
    await page.get_by_label("标题问题").fill("可以免费刻字吗？")
    await page.get_by_label("默认答案").fill("下单时备注刻字内容即可。")
    await page.get_by_role("button", name="保存").click()
    await expect(page.locator("#faq-error")).to_contain_text("至少需要一条例句")
    await page.get_by_label("例句").fill("能刻字吗\n刻字要加钱吗\n首饰上可以刻名字吗")
    await page.get_by_role("button", name="保存").click()
    await expect(page.locator("#faq-saved")).to_have_text("已保存")
    await expect(page.locator("#model-banner")).to_contain_text(BANNER)

    await page.get_by_label("默认答案").fill("免费刻字，最多 8 个字。")
    await page.get_by_role("button", name="保存").click()
    await expect(page.locator("#faq-saved")).to_have_text("已保存")
    await expect(page.get_by_label("默认答案")).to_have_value("免费刻字，最多 8 个字。")

    await page.get_by_role("link", name="FAQ", exact=True).click()
    await expect(page.locator("#faq-list tr[data-name='faq/engraving']")).to_contain_text("免费刻字，最多 8 个字。")
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_YAML, encoding="utf-8")
    await page.get_by_label("YAML 文件").set_input_files(str(broken))
    await page.get_by_role("button", name="导入").click()
    await expect(page.locator("#faq-import-error")).to_contain_text("broken.yml 第 6 行")
    await expect(page.locator("#faq-import-error")).to_contain_text("未做任何修改")
    await page.reload()
    await expect(page.locator("#faq-list tr[data-name='faq/gift_card']")).to_have_count(0)
    long_file = tmp_path / "long.yml"  # an answer over both platforms' message: imported, and shown split
    long_file.write_text(GOOD_YAML.replace("礼品卡可在结算页使用。", "礼品卡说明。" * 120), encoding="utf-8")
    await page.get_by_label("YAML 文件").set_input_files(str(long_file))
    await page.get_by_role("button", name="导入").click()
    split = page.locator("#faq-import-split")
    await expect(split).to_contain_text("faq/gift_card：微信单条消息上限 2048 字节，这个答案会分 2 条发送。")
    await expect(split.locator(".split-part")).to_have_count(5)  # and three Weibo messages
    await page.reload()  # it stays until read; imported all the same
    await expect(page.locator("#faq-list tr[data-name='faq/gift_card']")).to_have_count(1)
    assert await page.evaluate("window.__refused") == []  # no inline script or style
    await context.close()
