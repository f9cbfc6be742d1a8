"""The customer profile in real headless Chromium: from the thread page to the profile, a search
and "这是同一个人", tags refused with markup then saved (and shown on the thread page), a note,
an unlink."""
from playwright.async_api import Browser, expect
from sqlalchemy import select

from bot.store.models import AuditEntry, Customer, Thread
from tests.agent_stack import AgentStack
from tests.test_inbox_browser import DESKTOP, browser, logged_in  # noqa: F401 (browser: a fixture)

MINE, OTHER = "oBrowserProfile0000000001", "oBrowserProfileOther00001"


async def test_profile_page_links_tags_and_unlinks(browser: Browser, stack: AgentStack):  # noqa: F811
    await stack.push("你好，我的手机是13812345678", MINE)
    await stack.push("你好", OTHER, slug="other")
    async with stack.rt.db.sessions() as session:
        thread_id = (await session.execute(select(Thread.id).join(Customer, Thread.customer_id == Customer.id)
                                           .where(Customer.external_id == MINE))).scalar_one()
    page = await logged_in(browser, stack, "root", DESKTOP)
    await page.goto(f"{stack.base}/threads/{thread_id}")
    await page.locator("#profile-link").click()
    await expect(page.locator("#stated-phones")).to_have_text("13812345678")
    await expect(page.locator(".identity")).to_have_count(1)
    await expect(page.locator("#timeline .event")).to_contain_text("开始会话")

    await page.locator("#link-query").fill("oBrowserProfileOther")
    await page.get_by_role("button", name="搜索").click()
    await expect(page.locator("#link-matches li")).to_have_count(1)
    await page.get_by_role("button", name="这是同一个人").click()
    await expect(page.locator(".identity")).to_have_count(2)
    await expect(page.locator("#identities")).to_contain_text("other 官方")

    await page.locator("#tags-input").fill("VIP，<b>媒体</b>")
    await page.get_by_role("button", name="保存标签").click()
    await expect(page.locator("#profile-error")).to_contain_text("符号")
    await expect(page.locator(".profile-title .tag")).to_have_count(0)  # nothing saved
    await page.locator("#tags-input").fill("VIP，媒体")
    await page.get_by_role("button", name="保存标签").click()
    await expect(page.locator(".profile-title .tag")).to_have_text(["VIP", "媒体"])
    await page.locator("#note-input").fill("<i>老客户</i>，优先处理")
    await page.get_by_role("button", name="保存备注").click()
    await expect(page.locator("#note-input")).to_have_value("<i>老客户</i>，优先处理")

    await page.goto(f"{stack.base}/threads/{thread_id}")
    await expect(page.locator("#thread-tags .tag")).to_have_text(["VIP", "媒体"])
    await page.locator("#profile-link").click()
    await page.get_by_role("button", name="取消关联").click()
    await expect(page.locator(".identity")).to_have_count(1)
    assert await page.evaluate("window.__refused") == []  # no inline script or style was needed
    async with stack.rt.db.sessions() as session:
        actions = list((await session.execute(select(AuditEntry.action).where(AuditEntry.entity == "customer")
                                              .order_by(AuditEntry.id))).scalars())
    assert actions == ["customer.link", "customer.update", "customer.update", "customer.unlink"]
