"""The misses in real headless Chromium: a decline and an agent's "机器人答错了" flag each make a
miss; the admin sees the count, labels one on the page (it leaves the open list and enters the
next training data) and dismisses the other."""
from __future__ import annotations

from playwright.async_api import Browser, expect
from sqlalchemy import select

from bot.nlu.training import training_blocks
from bot.store.models import Customer, Thread
from tests.agent_stack import AgentStack
from tests.test_inbox_browser import DESKTOP, browser, logged_in  # noqa: F401 (the browser fixture)


async def test_flag_label_and_dismiss_on_the_pages(browser: Browser, stack: AgentStack):  # noqa: F811
    await stack.push("股票会涨吗", "oBrowserMiss0000000001")  # declined: a miss
    greeted = await stack.push("你好", "oBrowserMiss0000000002")  # answered: no miss until an agent says so
    assert greeted.reply and greeted.reply["Content"]
    async with stack.rt.db.sessions() as session:
        thread_id = (await session.execute(select(Thread.id).join(Customer, Customer.id == Thread.customer_id).where(
            Customer.external_id == "oBrowserMiss0000000002"))).scalar_one()

    alice = await logged_in(browser, stack, "alice", DESKTOP)
    await expect(alice.locator("#nav-misses")).to_have_count(0)  # not an admin
    await alice.goto(f"{stack.base}/threads/{thread_id}")
    await alice.locator(".msg.bot").get_by_role("button", name="机器人答错了").click()
    await expect(alice.locator(".msg.bot .flagged")).to_have_text("已标记为答错")

    root = await logged_in(browser, stack, "root", DESKTOP)
    await expect(root.locator("#nav-misses .count")).to_have_text("2")
    await root.locator("#nav-misses").click()
    rows = root.locator("tr.miss")
    await expect(rows).to_have_count(2)
    flagged = rows.filter(has_text="你好")
    await expect(flagged).to_contain_text("客服标记答错")
    await expect(flagged).to_contain_text("alice 标记")
    stocks = rows.filter(has_text="股票会涨吗")
    await expect(stocks).to_contain_text("decline · out_of_scope")
    await stocks.get_by_label("加为哪个意图的例句").select_option("out_of_scope")
    await stocks.get_by_role("button", name="加为例句").click()
    await expect(rows).to_have_count(1)
    await expect(root.locator("#nav-misses .count")).to_have_text("1")
    blocks = {b.name: b.examples for b in await training_blocks(stack.rt.db, stack.rt.settings)}
    assert "股票会涨吗" in blocks["out_of_scope"]

    await flagged.get_by_role("button", name="忽略").click()
    await expect(root.locator("#misses-list")).to_contain_text("没有待处理的问题")
    await expect(root.locator("#nav-misses .count")).to_have_count(0)
    assert await root.evaluate("window.__refused") == []  # nothing inline for the CSP to refuse
