"""Part B's pages in real headless Chromium: the tickets list turns a breach red live, the
detail page changes a ticket, an admin adds a canned reply and an agent inserts it with "/"."""
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select, update

from bot.nlu.pool import NluPool
from bot.store.models import Account, Agent, InboxItem, Ticket
from tests.agent_stack import PASSWORD, AgentStack, agent_stack, wait_until
from tests import test_inbox_browser
from tests.test_inbox_browser import DESKTOP, PHONE

OPENID = "oTicketBrowser000000000001"
browser = test_inbox_browser.browser  # the fixture: Debian's Chromium through Playwright


@pytest_asyncio.fixture
async def stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CAREBOT_SECRET_KEY", "test-secret-key-of-at-least-32-characters")
    async with agent_stack(nlu_pool, database_url, tmp_path, CAREBOT_SLA_CHECK_INTERVAL="0.2") as running:
        await running.add_agent("alice")
        await running.add_agent("root", role="admin")
        yield running


async def logged_in(browser: Browser, stack: AgentStack, username: str, viewport: dict) -> Page:
    page = await (await browser.new_context(viewport=viewport, locale="zh-CN")).new_page()
    await page.goto(f"{stack.base}/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{stack.base}/inbox")
    return page


async def test_tickets_live_breach_change_and_canned_reply(browser: Browser, stack: AgentStack):
    result = await stack.push("充电宝充不进电，质量太差了，我要投诉", OPENID)
    assert result.reply
    alice = await logged_in(browser, stack, "alice", DESKTOP)
    await alice.goto(f"{stack.base}/tickets")
    row = alice.locator("tr.ticket")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("充不进电")
    await expect(alice.locator("body[data-live=on]")).to_have_count(1)
    await expect(row).not_to_have_class("breached")

    async with stack.rt.db.uow() as session:  # the first-response target passes
        ticket = (await session.execute(select(Ticket))).scalar_one()
        await session.execute(update(Ticket).values(first_response_due=ticket.created_at - timedelta(minutes=1)))
    await expect(row.locator(".badge.breached")).to_have_text("响应超时")  # no reload: the sla event
    await expect(row).to_have_class("ticket prio-high breached")

    await alice.get_by_placeholder("工单号、客户或内容").fill("没有这回事")
    await alice.get_by_role("button", name="搜索").click()
    await expect(alice.locator("tr.empty")).to_contain_text("没有符合条件的工单")

    await alice.goto(f"{stack.base}/tickets/{ticket.number}")
    await alice.get_by_label("状态").select_option("pending")
    await alice.get_by_role("button", name="保存").click()
    await expect(alice.locator("#sla-state")).to_contain_text("计时暂停")
    await expect(alice.locator("#ticket-history")).to_contain_text("状态 new → pending")

    root = await logged_in(browser, stack, "root", PHONE)
    await root.goto(f"{stack.base}/admin/canned")
    await root.get_by_label("快捷词").fill("thanks")
    await root.get_by_label("回复内容").fill("感谢您的耐心等待，问题已为您处理。")
    await root.get_by_role("button", name="添加").click()
    await expect(root.locator("#canned-list")).to_contain_text("/thanks")
    assert await root.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone

    async with stack.rt.db.sessions() as session:
        thread_id = (await session.execute(select(Ticket.thread_id))).scalar_one()
    await alice.goto(f"{stack.base}/threads/{thread_id}")
    box = alice.locator("textarea[data-canned]")
    await box.click()
    await box.type("您好 /tha")
    await expect(alice.locator("#canned-picker .canned-choice.active")).to_contain_text("/thanks")
    await box.press("Enter")
    await expect(box).to_have_value("您好 感谢您的耐心等待，问题已为您处理。")
    await expect(alice.locator("#canned-picker")).to_be_hidden()


async def test_presence_switch_in_the_top_bar_takes_assignments(browser: Browser, stack: AgentStack):
    async with stack.rt.db.uow() as session:
        await session.execute(update(Account).where(Account.slug == "brand").values(autoassign_capacity=1))
    await stack.push("转人工", OPENID)
    alice = await logged_in(browser, stack, "alice", DESKTOP)
    presence = alice.locator("#presence")
    await expect(presence).to_have_text("离线")

    async def held_by_alice() -> bool:
        async with stack.rt.db.sessions() as session:
            holders = (await session.execute(select(Agent.username).join(
                InboxItem, InboxItem.claimed_by == Agent.id))).scalars().all()
        return holders == ["alice"]

    assert not await held_by_alice()
    await presence.click()
    await expect(presence).to_have_text("在线")
    assert await wait_until(held_by_alice, timeout=10)  # going online took the waiting thread
    await alice.reload()
    await expect(alice.locator("#presence")).to_have_text("在线")  # the status is stored, not the page's
    await alice.locator("#presence").click()
    await expect(alice.locator("#presence")).to_have_text("离线")
    async with stack.rt.db.sessions() as session:
        assert (await session.execute(select(Agent.status).where(Agent.username == "alice"))).scalar_one() == "offline"
