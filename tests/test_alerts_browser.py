"""Crisis alerts in real headless Chromium: the banner appears live on an agent's inbox when the
radar opens an alert; the admin reviews the statement, notifies the affected customers and closes
the alert with a reason (the banner goes away)."""
from datetime import datetime, timezone

from playwright.async_api import Browser, expect

from bot.desk import radar
from tests.agent_stack import AgentStack
from tests.test_inbox_browser import DESKTOP, browser, logged_in  # noqa: F401 (browser: a fixture)

COMPLAINTS = ["投诉！充电器发烫", "差评，充电器很烫手", "投诉：新买的充电器一直发热", "充电器烫得不敢摸，投诉",
              "差评！充电器用了两天就烫手"]


async def test_alert_banner_notify_and_close(browser: Browser, stack: AgentStack):  # noqa: F811
    alice = await logged_in(browser, stack, "alice", DESKTOP)
    await expect(alice.locator("body")).to_have_attribute("data-live", "on")
    await expect(alice.locator(".alert-banner")).to_have_count(0)
    for i, text in enumerate(COMPLAINTS):
        await stack.push(text, f"oBrowserAlert{i:012d}")
    async with stack.rt.db.uow() as session:
        await radar.scan(session, stack.rt.settings, datetime.now(timezone.utc))
    banner = alice.locator(".alert-banner")
    await expect(banner).to_contain_text("“充电器” 5 条投诉")  # live, without a reload
    await expect(banner.locator("a")).to_have_count(0)  # agents are told, admins handle it

    root = await logged_in(browser, stack, "root", DESKTOP)
    await root.goto(f"{stack.base}/tickets")
    await expect(root.locator(".alert-banner")).to_contain_text("充电器")  # every page
    await root.locator(".alert-banner a").click()
    card = root.locator(".alert-card")
    await expect(card.locator("h2")).to_have_text("“充电器” · 5 条投诉")
    await expect(card.locator(".members tbody tr")).to_have_count(5)
    await expect(card.locator(".members a[href^='/tickets/']")).to_have_count(5)
    assert sum([int(v) for v in await card.locator("svg rect.bar").evaluate_all(
        "bars => bars.map(b => b.dataset.value)")]) == 5  # the timeline counts every complaint
    statement = card.locator("textarea[name=text]")
    await expect(statement).to_have_value(wanted := "您好，关于近期多位顾客反馈的“充电器”问题，我们已经高度重视，正在紧急排查处理。"
                                          "您的反馈已登记，处理结果会第一时间通知您，给您带来不便深表歉意。")
    await statement.fill("")
    await root.get_by_role("button", name="通知受影响的顾客").click()
    await expect(root.locator("#alert-error")).to_have_text("通知内容不能为空")
    await root.locator(".alert-card textarea[name=text]").fill(wanted)
    await root.get_by_role("button", name="通知受影响的顾客").click()
    await expect(root.locator("#notice-result .queued")).to_have_text("5")
    await expect(root.locator(".alert-card .members tbody td[data-label='已通知']").first).not_to_be_empty()

    await root.locator(".alert-card input[name=reason]").fill("供应商批次问题，已召回")
    await root.get_by_role("button", name="关闭预警").click()
    await expect(root).to_have_url(f"{stack.base}/admin/alerts?status=closed")
    await expect(root.locator(".alert-card")).to_contain_text("root")
    await expect(root.locator(".alert-card")).to_contain_text("供应商批次问题，已召回")
    await expect(root.locator(".alert-banner")).to_have_count(0)
    await expect(alice.locator(".alert-banner")).to_have_count(0)  # the close reached the live page too
    for page in (alice, root):
        assert await page.evaluate("window.__refused") == []  # no inline script or style was needed
