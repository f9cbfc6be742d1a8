"""The reports and audit pages in real headless Chromium: an admin opens the seeded month's report,
reads its figures and charts, downloads the CSV (the API's figures), then filters the audit log."""
import csv
import io
from pathlib import Path

import pytest_asyncio
from playwright.async_api import Browser, expect

from tests import test_inbox_browser
from tests.agent_stack import PASSWORD
from tests.report_seed import report_stack
from tests.test_inbox_browser import CSP_WATCH, DESKTOP

browser = test_inbox_browser.browser  # the fixture: Debian's Chromium through Playwright


@pytest_asyncio.fixture
async def running(tmp_path: Path):
    async with report_stack(f"sqlite+aiosqlite:///{tmp_path / 'carebot.sqlite3'}", tmp_path) as stack:
        yield stack


async def test_reports_page_shows_the_month_and_the_audit_filter_works(browser: Browser, running):
    base, _ = running
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    await context.add_init_script(CSP_WATCH)
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.get_by_label("用户名").fill("root")
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{base}/inbox")

    await page.get_by_role("link", name="数据报表").click()
    await page.locator('input[name="from"]').fill("2026-11-01")
    await page.locator('input[name="to"]').fill("2026-11-30")
    await page.get_by_role("button", name="查看").click()
    await expect(page.locator('[data-kpi="messages_in"] strong')).to_have_text("11")
    await expect(page.locator('[data-kpi="contained_rate"] strong')).to_have_text("33.3%")
    await expect(page.locator('[data-kpi="first_response"] strong')).to_have_text("30 分钟 / 1 小时 10 分")
    await expect(page.locator('[data-kpi="csat"] strong')).to_have_text("3.5")
    bars = page.locator("#chart-messages rect.bar")
    await expect(bars).to_have_count(30)
    tallest = await page.locator('#chart-messages rect.bar[data-day="2026-11-02"]').bounding_box()
    single = await page.locator('#chart-messages rect.bar[data-day="2026-11-06"]').bounding_box()
    assert tallest and single and tallest["height"] > 4 * single["height"] > 0  # 5 messages against 1
    await expect(page.locator("#chart-first-response polyline")).to_have_count(2)
    await expect(page.locator('#report-days tr[data-date="2026-11-03"] td[data-col="contained_rate"]')).to_have_text("33.3%")

    async with page.expect_download() as download_info:
        await page.locator("#csv-link").click()
    download = await download_info.value
    rows = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text(encoding="utf-8"))))
    api = await (await page.request.get(f"{base}/api/v1/reports/summary?from=2026-11-01&to=2026-11-30")).json()
    assert rows[-1]["date"] == "total" and rows[-1]["messages_in"] == str(api["messages_in"]) == "11"
    assert [r["messages_in"] for r in rows[:-1]] == [str(day["messages_in"]) for day in api["days"]]

    await page.get_by_role("link", name="操作日志").click()
    await expect(page.locator('#audit-rows tr[data-action="agent.login"]').first).to_be_visible()  # today's login
    await page.locator('input[name="from"]').fill("2026-11-01")
    await page.locator('input[name="to"]').fill("2026-11-30")
    await page.get_by_role("button", name="筛选").click()
    await expect(page.locator("#audit-rows tbody tr")).to_have_count(4)  # the seeded month's entries
    await page.get_by_label("操作人").select_option("alice")
    await page.get_by_role("button", name="筛选").click()
    await expect(page.locator("#audit-rows tbody tr")).to_have_count(2)
    await expect(page.locator("#audit-rows tbody tr").first).to_have_attribute("data-action", "thread.resolve")
    assert await page.evaluate("window.__refused") == []  # no inline script or style was needed
    await context.close()
