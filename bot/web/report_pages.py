"""Reports for admins: the page with its charts, the CSV of its table and the JSON API, all built
from one `bot.store.reports.build` call so their figures are the same."""
from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.desk.access import NotFound
from bot.store import accounts, reports
from bot.web import charts
from bot.web.auth import api_viewer, now, page_viewer
from bot.web.context import runtime_of
from bot.web.openapi import ApiError, api_route

QUERY = {"account": "account slug (all accounts when absent)", "from": "first day YYYY-MM-DD (default: 29 days before `to`)",
         "to": "last day YYYY-MM-DD (default: today)"}


async def _report(request: web.Request) -> reports.Report:
    """The report the query asks for; ApiError 400 for a bad period, NotFound for an unknown account."""
    rt = runtime_of(request)
    query = request.query
    try:
        span = reports.period(rt.settings, query.get("from") or None, query.get("to") or None, now())
    except reports.ReportError as exc:
        raise ApiError(400, exc.zh) from None
    async with rt.db.sessions() as session:
        account = None
        if slug := query.get("account"):
            account = await accounts.by_slug(session, slug)
            if account is None:
                raise NotFound(f"账号 {slug} 不存在")
        return await reports.build(session, rt.settings, span, account)


async def api_summary(request: web.Request) -> web.Response:
    api_viewer(request).require_admin()
    return web.json_response((await _report(request)).as_json())


async def csv_export(request: web.Request) -> web.StreamResponse:
    page_viewer(request).require_admin()
    report = await _report(request)
    name = f"carebot-report-{report.account or 'all'}-{report.period.first}-{report.period.last}.csv"
    return web.Response(text=report.as_csv(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _charts(figures: dict[str, Any]) -> dict[str, charts.Chart]:
    days = [day["date"] for day in figures["days"]]

    def series(name: str, scale: float = 1.0) -> list[float | None]:
        return [None if day[name] is None else day[name] * scale for day in figures["days"]]

    return {
        "messages": charts.bars(days, [day["messages_in"] for day in figures["days"]]),
        "containment": charts.lines(days, {"contained": series("contained_rate", 100)}, top=100),
        "first_response": charts.lines(days, {"p50": series("first_response_p50_s", 1 / 60),
                                              "p90": series("first_response_p90_s", 1 / 60)}),
    }


async def reports_page(request: web.Request) -> web.StreamResponse:
    page_viewer(request).require_admin()
    async with runtime_of(request).db.sessions() as session:
        known = await accounts.all_accounts(session)
    context: dict[str, Any] = {"nav": "reports", "accounts": known, "params": request.query, "error": ""}
    try:
        report = (await _report(request)).as_json()
    except (ApiError, NotFound) as exc:
        context["error"] = exc.reason
        return aiohttp_jinja2.render_template("reports.html", request, context, status=getattr(exc, "status", 404))
    context.update(report=report, charts=_charts(report), csv_query=request.query_string,
                   period={"from": report["from"], "to": report["to"]})
    return aiohttp_jinja2.render_template("reports.html", request, context)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/admin/reports", reports_page)
    app.router.add_get("/admin/reports.csv", csv_export)
    api_route(app, "GET", "/reports/summary", api_summary, tag="reports", query=QUERY,
              summary="The service's figures over a period, in total and per day (admins)",
              responses={200: "{messages_in, conversations, contained_rate, faq_answered, complaints, praise, "
                              "handoffs, first_response_p50_s, ..., csat_avg, csat_count, days: [...]}",
                         400: "malformed date, from after to, or a period over 366 days"})
