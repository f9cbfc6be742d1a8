"""Reports and the audit log on a seeded month (tests/report_seed.py), on SQLite and PostgreSQL:
the figures themselves, the API, the CSV against the API, the CLI, permissions and bad input."""
from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest_asyncio

from bot.store import accounts, reports
from bot.store.reports import Period, flatten
from tests.agent_stack import call, login
from bot.runtime import database
from tests.conftest import carebot_env, make_settings, run_carebot
from tests.report_seed import EXPECTED_ALL, EXPECTED_BRAND, EXPECTED_DAYS, SETTINGS, report_stack, seed_month
from tests.report_seed import ZONE

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
MONTH = Period(date(2026, 11, 1), date(2026, 11, 30), ZONE)


@pytest_asyncio.fixture
async def running(database_url: str, tmp_path: Path):
    async with report_stack(database_url, tmp_path) as stack:
        yield stack


def subset(actual: dict, expected: dict) -> dict:
    return {key: actual[key] for key in expected}


async def test_figures_of_the_seeded_month(running):
    base, rt = running
    async with rt.db.sessions() as session:
        whole = (await reports.build(session, rt.settings, MONTH, None)).as_json()
        brand = await accounts.by_slug(session, "brand")
        alone = (await reports.build(session, rt.settings, MONTH, brand)).as_json()
        empty = (await reports.build(session, rt.settings, Period(date(2025, 1, 1), date(2025, 12, 31), ZONE),
                                     None)).as_json()
    assert subset(whole, EXPECTED_ALL) == EXPECTED_ALL
    days = {day["date"]: day for day in whole["days"]}
    assert len(days) == 30 and list(days)[0] == "2026-11-01" and list(days)[-1] == "2026-11-30"
    for label, expected in EXPECTED_DAYS.items():
        assert subset(days[label], expected) == expected, label
    assert sum(day["messages_in"] for day in days.values()) == whole["messages_in"]
    assert whole["top_intents"][:3] == [{"intent": "complain", "count": 2}, {"intent": "nlu_fallback", "count": 2},
                                        {"intent": "faq/refund", "count": 2}]  # a tie: the latest first
    assert whole["top_misses"] == [{"text": "asdkjh", "count": 2}, {"text": "今天天气怎么样", "count": 1}]
    assert whole["misses_by_kind"] == {"clarify": 1, "decline": 1, "bot_failed": 1}
    assert subset(alone, EXPECTED_BRAND) == EXPECTED_BRAND and alone["account"] == "brand"
    assert empty["messages_in"] == 0 and empty["contained_rate"] is None and empty["first_response_p50_s"] is None


async def test_api_csv_pages_permissions_and_bad_input(running):
    base, rt = running
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as admin, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as agent:
        await login(admin, base, "root")
        await login(agent, base, "alice")
        status, body = await call(admin, "GET", f"{base}/api/v1/reports/summary", params=NOVEMBER)
        assert status == 200 and subset(body, EXPECTED_ALL) == EXPECTED_ALL
        status, brand = await call(admin, "GET", f"{base}/api/v1/reports/summary", params={**NOVEMBER, "account": "brand"})
        assert status == 200 and subset(brand, EXPECTED_BRAND) == EXPECTED_BRAND
        # the CSV of the page's table holds the API's figures, day by day and in total
        status, text = await call(admin, "GET", f"{base}/admin/reports.csv", params=NOVEMBER)
        assert status == 200
        table = list(csv.DictReader(io.StringIO(text)))
        expected_rows = [{"date": day["date"], **flatten({k: v for k, v in day.items() if k != "date"})}
                         for day in body["days"]]
        expected_rows.append({"date": "total", **flatten({k: body[k] for k in body["days"][0] if k != "date"})})
        assert len(table) == 31
        for row, expected in zip(table, expected_rows):
            assert row == {k: "" if v is None else str(v) for k, v in expected.items()}, row["date"]
        # the page shows the figures and the charts
        status, html = await call(admin, "GET", f"{base}/admin/reports", params=NOVEMBER)
        assert status == 200 and 'data-kpi="messages_in"><span>顾客消息</span><strong>11</strong>' in html
        assert html.count("<svg") == 3 and html.count('class="bar"') == 30 and "33.3%" in html
        assert 'href="/admin/reports.csv?from=2026-11-01&amp;to=2026-11-30"' in html
        # not an admin: 403 everywhere; not logged in: 401 from the API
        for url in ("/api/v1/reports/summary", "/admin/reports", "/admin/reports.csv", "/admin/audit"):
            status, _ = await call(agent, "GET", base + url, params=NOVEMBER)
            assert status == 403, url
        async with aiohttp.ClientSession() as anonymous:
            status, _ = await call(anonymous, "GET", f"{base}/api/v1/reports/summary")
        assert status == 401
        # bad input: a clear 4xx with the reason
        for params, code, words in (({"from": "2026-12-01", "to": "2026-11-01"}, 400, "晚于"),
                                    ({"from": "2016-01-01", "to": "2026-01-01"}, 400, "最长 366 天"),
                                    ({"from": "2026-13-01"}, 400, "YYYY-MM-DD"),
                                    ({"to": "yesterday"}, 400, "YYYY-MM-DD"),
                                    ({**NOVEMBER, "account": "nope"}, 404, "nope")):
            status, error = await call(admin, "GET", f"{base}/api/v1/reports/summary", params=params)
            assert status == code and words in error["error"], (params, error)
            status, html = await call(admin, "GET", f"{base}/admin/reports", params=params)
            assert status == code and words in html, params
        status, doc = await call(admin, "GET", f"{base}/api/v1/openapi.json")
        assert "/api/v1/reports/summary" in doc["paths"]


async def test_audit_page_filters_and_pages(running):
    base, _ = running
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as admin:
        await login(admin, base, "root")

        async def rows(**params) -> list[str]:
            status, html = await call(admin, "GET", f"{base}/admin/audit", params=params)
            assert status == 200, html[:300]
            return [part.split('"', 1)[0] for part in html.split('<tr data-action="')[1:]]

        everything = await rows()
        assert everything[-4:] == ["sla.set", "thread.resolve", "inbox.claim", "agent.add"]  # newest first
        assert await rows(actor="alice") == ["thread.resolve", "inbox.claim"]
        assert await rows(entity="sla_policy") == ["sla.set"]
        assert await rows(action="inbox.claim", actor="root") == []
        assert await rows(**{"from": "2026-11-03", "to": "2026-11-04"}) == ["thread.resolve", "inbox.claim"]
        assert await rows(page="2") == []
        for params in ({"page": "0"}, {"page": "x"}, {"from": "2026-02-30"}):
            status, html = await call(admin, "GET", f"{base}/admin/audit", params=params)
            assert status == 400, params


async def test_cli_report_prints_the_api_figures(database_url: str, tmp_path: Path):
    settings = make_settings(tmp_path, database_url, **SETTINGS)
    async with database(settings) as db:
        await seed_month(db)
        async with db.sessions() as session:
            expected = await reports.build(session, settings, MONTH, None)
    env = carebot_env(tmp_path, database_url, **SETTINGS)
    args = ["report", "--from", "2026-11-01", "--to", "2026-11-30"]
    result = run_carebot([*args, "--json"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(json.dumps(expected.as_json()))
    result = run_carebot([*args, "--csv"], env)
    assert result.returncode == 0 and result.stdout == expected.as_csv()
    result = run_carebot([*args, "--account", "brand"], env)
    assert result.returncode == 0 and "brand" in result.stdout
    assert "total" in result.stdout and "bot_failed 1" in result.stdout
    for bad, code, words in ((["--from", "2026-12-01", "--to", "2026-11-01"], 2, "after it ends"),
                             (["--from", "2016-01-01", "--to", "2026-01-01"], 2, "at most 366 days"),
                             (["--to", "2026-02-30"], 2, "YYYY-MM-DD"),
                             ([*args[1:], "--account", "nope"], 1, "no account 'nope'")):
        result = run_carebot(["report", *bad], env)
        assert result.returncode == code and words in result.stderr, (bad, result.stderr)


def test_local_days_across_a_daylight_saving_change():
    """SQLite's day expression follows the zone's offset changes within the period."""
    zone = ZoneInfo("Europe/Berlin")
    span = Period(date(2026, 10, 24), date(2026, 10, 26), zone)
    changes = reports._offsets(zone, span.start(), span.end())
    assert [offset for _, offset in changes] == [7200, 3600]
    assert changes[1][0].isoformat() == "2026-10-25T01:00:00+00:00"  # 03:00 CEST becomes 02:00 CET
