"""The agent pages in real headless Chromium (Debian's, driven by Playwright; never downloaded).

Two agents are logged in; a consumer writes through the simulated WeChat; the item appears on
both inboxes live; one claims it and it vanishes for the other; the reply reaches the fake
WeChat API; resolve gives the thread back to the bot, which answers the next message.
"""
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import select

from bot.nlu.pool import NluPool
from bot.store.models import Thread
from tests.agent_stack import PASSWORD, AgentStack, staffed_stack, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
OPENID = "oBrowserCustomer0000000001"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# what the Content-Security-Policy refused on a page (it must be nothing: no inline script or style)
CSP_WATCH = ("window.__refused = []; document.addEventListener('securitypolicyviolation', "
             "event => window.__refused.push(event.violatedDirective + ' ' + event.blockedURI));")


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium not found: apt-get install chromium chromium-driver (make test does: scripts/ensure-system-deps)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture
async def stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    async with staffed_stack(nlu_pool, database_url, tmp_path, monkeypatch,
                             {"alice": ("brand",), "bob": ("brand",)}) as running:
        yield running


async def logged_in(browser: Browser, stack: AgentStack, username: str, viewport: dict) -> Page:
    context = await browser.new_context(viewport=viewport, locale="zh-CN")
    await context.add_init_script(CSP_WATCH)
    page = await context.new_page()
    await page.goto(f"{stack.base}/inbox")
    await expect(page).to_have_url(f"{stack.base}/login?next=/inbox")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{stack.base}/inbox")
    await expect(page.locator("body[data-live=on]")).to_have_count(1)  # the event stream is open
    return page


async def test_two_agents_live_inbox_claim_reply_resolve(browser: Browser, stack: AgentStack):
    alice = await logged_in(browser, stack, "alice", DESKTOP)
    bob = await logged_in(browser, stack, "bob", PHONE)
    for page in (alice, bob):
        await expect(page.locator("#inbox-rows")).to_contain_text("暂无等待处理的会话")

    handoff = await stack.push("我要转人工，订单一直没发货", OPENID)
    assert handoff.reply and "人工" in handoff.reply["Content"]
    for page in (alice, bob):  # no reload: the row arrives through server-sent events
        await expect(page.locator("tr.item")).to_have_count(1)
        await expect(page.locator("tr.item")).to_contain_text("订单一直没发货")
        await expect(page.locator("tr.item")).to_contain_text("要求人工")
    assert await bob.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone

    await alice.get_by_role("button", name="接手").click()
    await expect(alice).to_have_url(f"{stack.base}/threads/" + await _thread_id(stack))
    await expect(bob.locator("tr.item")).to_have_count(0)  # gone for the other agent, live
    await expect(alice.locator(".status-bar .holder")).to_have_text("Alice")
    await expect(alice.locator("#window-left")).to_contain_text("回复窗口剩余 47 小时")
    await expect(alice.locator(".msg.customer")).to_contain_text("订单一直没发货")
    await expect(alice.locator(".msg.bot").first).to_be_visible()

    await alice.locator("#reply-text").fill("您好，我是客服 Alice，马上为您查询")
    await alice.get_by_role("button", name="发送").click()
    await expect(alice.locator(".msg.agent .delivery")).to_have_text("已送达")  # live delivery state
    assert await wait_until(lambda: _delivered(stack, "您好，我是客服 Alice，马上为您查询"))

    await alice.locator("#note-text").fill("客户第二次催单")
    await alice.get_by_role("button", name="添加备注").click()
    await expect(alice.locator(".msg.note")).to_contain_text("客户第二次催单")
    assert not await _delivered(stack, "客户第二次催单")
    for page in (alice, bob):  # the thread page (with the canned picker) and the live inbox
        assert await page.evaluate("window.__refused") == []

    await stack.push("好的谢谢", OPENID)  # arrives while Alice holds the thread: shown live, bot silent
    await expect(alice.locator(".msg.customer").last).to_contain_text("好的谢谢")

    await alice.get_by_role("button", name="解决").click()
    await expect(alice).to_have_url(f"{stack.base}/inbox")
    async with stack.rt.db.sessions() as session:
        assert (await session.execute(select(Thread.owner))).scalar_one() == "bot"
    answer = await stack.push("怎么开发票", OPENID)
    assert answer.reply and "发票" in answer.reply["Content"]  # the bot answers again


async def _thread_id(stack: AgentStack) -> str:
    async with stack.rt.db.sessions() as session:
        return str((await session.execute(select(Thread.id))).scalar_one())


async def _delivered(stack: AgentStack, text: str) -> bool:
    return any(d.content == text and d.openid == OPENID for d in stack.api.delivered)


async def test_wrong_password_and_logout(browser: Browser, stack: AgentStack):
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(f"{stack.base}/login")
    await page.get_by_label("用户名").fill("alice")
    await page.get_by_label("密码").fill("not-the-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.locator(".error")).to_have_text("用户名或密码错误")
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{stack.base}/inbox")
    await page.get_by_role("button", name="退出").click()
    await expect(page).to_have_url(f"{stack.base}/login")
    await page.goto(f"{stack.base}/inbox")
    await expect(page).to_have_url(f"{stack.base}/login?next=/inbox")
