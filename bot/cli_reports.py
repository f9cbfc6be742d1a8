"""`carebot report`: the figures of the admins' reports page and API, in a terminal, as JSON or CSV
(the same `bot.store.reports.build`, so the three agree)."""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from typing import Any

from bot.runtime import CliError, Context
from bot.store import accounts, reports


def _seconds(value: int | None) -> str:
    if value is None:
        return "-"
    hours, rest = divmod(value, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _line(label: str, figures: dict[str, Any]) -> str:
    rate = "-" if figures["contained_rate"] is None else f"{figures['contained_rate'] * 100:.1f}%"
    csat = "-" if figures["csat_avg"] is None else f"{figures['csat_avg']:.2f}"
    return (f"{label:10} {figures['messages_in']:>6} {figures['conversations']:>6} {rate:>7} "
            f"{figures['faq_answered']:>5} {figures['complaints']:>5} {figures['praise']:>6} "
            f"{sum(figures['handoffs'].values()):>8} {_seconds(figures['first_response_p50_s']):>8} "
            f"{_seconds(figures['first_response_p90_s']):>8} {_seconds(figures['resolution_p50_s']):>8} "
            f"{_seconds(figures['resolution_p90_s']):>8} {figures['sla_breaches']:>4} {csat:>5}")


def _text(report: dict[str, Any]) -> str:
    header = (f"{'date':10} {'msgs':>6} {'convs':>6} {'contain':>7} {'faq':>5} {'compl':>5} {'praise':>6} "
              f"{'handoffs':>8} {'1st p50':>8} {'1st p90':>8} {'res p50':>8} {'res p90':>8} {'sla':>4} {'csat':>5}")
    lines = [f"Report {report['account'] or 'all accounts'}, {report['from']} to {report['to']} ({report['timezone']}; "
             "response times in business time)", header]
    lines += [_line(day["date"], day) for day in report["days"]]
    lines.append(_line("total", report))
    lines.append("handoffs: " + ", ".join(f"{reason} {n}" for reason, n in report["handoffs"].items()))
    lines.append("complaints: " + ", ".join(f"{p} {n}" for p, n in report["complaints_by_priority"].items()))
    lines.append("csat: " + ", ".join(f"{r}: {n}" for r, n in report["csat_distribution"].items()))
    lines.append("top intents: " + ", ".join(f"{i['intent']} {i['count']}" for i in report["top_intents"]))
    lines.append("misses: " + ", ".join(f"{kind} {n}" for kind, n in report["misses_by_kind"].items()))
    lines += [f"  {m['count']:>4}  {m['text']}" for m in report["top_misses"]]
    return "\n".join(lines)


async def cmd_report(ctx: Context, args: argparse.Namespace) -> None:
    try:
        span = reports.period(ctx.settings, args.first, args.last, datetime.now(timezone.utc))
    except reports.ReportError as exc:
        raise CliError(str(exc), exit_code=2) from None
    async with ctx.database() as db:
        async with db.sessions() as session:
            account = None
            if args.account:
                account = await accounts.by_slug(session, args.account)
                if account is None:
                    raise CliError(f"no account {args.account!r} (see `carebot account list`)", exit_code=1)
            report = await reports.build(session, ctx.settings, span, account)
    if args.format == "json":
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    elif args.format == "csv":
        print(report.as_csv(), end="")
    else:
        print(_text(report.as_json()))


def add_parsers(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="the service's figures per day over a period (default: the last 30 days)")
    report.add_argument("--account", help="account slug (default: all accounts)")
    report.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="first day (default: 29 days before --to)")
    report.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="last day (default: today)")
    output = report.add_mutually_exclusive_group()
    output.add_argument("--json", dest="format", action="store_const", const="json", help="the API's JSON")
    output.add_argument("--csv", dest="format", action="store_const", const="csv", help="the reports page's CSV")
    report.set_defaults(func=cmd_report, format="text")
