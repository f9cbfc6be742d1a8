"""`carebot sla ...`, `carebot canned ...` and the account's SLA and assignment settings:
`carebot account hours|holidays|autoassign|unionid SLUG ...`. Every change is audited as "cli"."""
from __future__ import annotations

import argparse
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from bot.business_time import CalendarError
from bot.desk import autoassign
from bot.desk import canned_admin
from bot.runtime import CliError, Context
from bot.store import accounts, audit, canned, sla
from bot.store.models import Account

ACTOR = "cli"
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m?)?$")


def minutes(text: str) -> int:
    """"30m", "8h", "1h30m", "2d" or plain minutes."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30m, 8h, 1h30m, 2d)")
    days, hours, mins = (int(g) if g else 0 for g in match.groups())
    return days * 24 * 60 + hours * 60 + mins


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _label(total: int) -> str:
    hours, mins = divmod(total, 60)
    return f"{hours}h{mins:02d}m" if hours else f"{mins}m"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@asynccontextmanager
async def _account(ctx: Context, slug: str) -> AsyncIterator[tuple[AsyncSession, Account]]:
    """The account in a unit of work, or a clear error naming the slug."""
    async with ctx.database() as db:
        async with db.uow() as session:
            account = await accounts.by_slug(session, slug)
            if account is None:
                raise CliError(f"no account {slug!r} (see `carebot account list`)", exit_code=1)
            yield session, account


async def cmd_sla_set(ctx: Context, args: argparse.Namespace) -> None:
    settings = ctx.settings
    async with ctx.database() as db:
        async with db.uow() as session:
            before = (await sla.targets(session, settings))[args.priority]
            after = await sla.set_targets(session, settings, args.priority, first_response_minutes=args.first_response,
                                          resolution_minutes=args.resolution, now=_now())
            await audit.record(session, ACTOR, "sla.set", "sla_policy", args.priority, now=_now(),
                               before=before.__dict__, after=after.__dict__)
    print(f"SLA {after.priority}: first response {_label(after.first_response_minutes)}, "
          f"resolution {_label(after.resolution_minutes)} (business time; new tickets and changes use it)")


async def cmd_sla_list(ctx: Context, args: argparse.Namespace) -> None:
    settings = ctx.settings
    async with ctx.database() as db:
        async with db.sessions() as session:
            rows = await sla.targets(session, settings)
    print(f"{'priority':9} {'first response':15} resolution")
    for priority in reversed(sla.PRIORITIES):
        row = rows[priority]
        print(f"{priority:9} {_label(row.first_response_minutes):15} {_label(row.resolution_minutes)}")


async def cmd_account_hours(ctx: Context, args: argparse.Namespace) -> None:
    async with _account(ctx, args.slug) as (session, account):
        before = account.business_hours
        try:
            sla.set_hours(account, None if args.clear else args.hours)
        except CalendarError as exc:
            raise CliError(str(exc), exit_code=1) from None
        await audit.record(session, ACTOR, "account.hours", "account", account.id, now=_now(),
                           before={"business_hours": before}, after={"business_hours": account.business_hours})
    print(f"{args.slug}: business hours {account.business_hours or 'of the deployment (CAREBOT_BUSINESS_HOURS/DAYS)'}")


async def cmd_account_holidays(ctx: Context, args: argparse.Namespace) -> None:
    async with _account(ctx, args.slug) as (session, account):
        if args.add or args.remove:
            await sla.add_holidays(session, account, args.add or [])
            await sla.remove_holidays(session, account, args.remove or [])
            await audit.record(session, ACTOR, "account.holidays", "account", account.id, now=_now(),
                               after={"added": [d.isoformat() for d in args.add or []],
                                      "removed": [d.isoformat() for d in args.remove or []]})
        days = sorted(await sla.holidays(session, account.id))
    print(f"{args.slug}: {len(days)} holidays" + "".join(f"\n  {d.isoformat()}" for d in days))


async def cmd_account_autoassign(ctx: Context, args: argparse.Namespace) -> None:
    async with _account(ctx, args.slug) as (session, account):
        await autoassign.set_capacity(session, account, None if args.off else args.capacity, ACTOR, _now())
    print(f"{args.slug}: auto-assignment " + ("off" if args.off else f"on, up to {args.capacity} threads per online agent"))


async def cmd_account_unionid(ctx: Context, args: argparse.Namespace) -> None:
    async with _account(ctx, args.slug) as (session, account):
        if account.platform != "wechat":
            raise CliError(f"{args.slug} is a {account.platform} account: only WeChat gives unionids", exit_code=1)
        before, account.open_platform = account.open_platform, args.on
        await audit.record(session, ACTOR, "account.open_platform", "account", account.id, now=_now(),
                           before={"open_platform": before}, after={"open_platform": args.on})
    print(f"{args.slug}: " + ("bound to an open platform; followers' unionids are looked up and their identities "
                              "linked" if args.on else "unionid lookups off"))


async def cmd_canned_add(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        try:
            async with db.uow() as session:
                reply = await canned_admin.add(session, actor=ACTOR, shortcut=args.shortcut, text=args.text,
                                               title=args.title or "", now=_now())
        except canned.CannedError as exc:
            raise CliError(str(exc), exit_code=1) from None
    print(f"Added canned reply /{reply.shortcut}")


async def cmd_canned_list(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        async with db.sessions() as session:
            rows = await canned.all_replies(session)
    for reply in rows:
        print(f"/{reply.shortcut:20} {reply.title:20} {reply.text}")


async def cmd_canned_remove(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        try:
            async with db.uow() as session:
                await canned_admin.remove(session, actor=ACTOR, shortcut=args.shortcut, now=_now())
        except canned.CannedError as exc:
            raise CliError(str(exc), exit_code=1) from None
    print(f"Removed canned reply /{args.shortcut.lstrip('/')}")


def add_parsers(sub: argparse._SubParsersAction, account: argparse._SubParsersAction) -> None:
    sla_cmd = sub.add_parser("sla", help="SLA targets per priority").add_subparsers(dest="sla_command", required=True)
    set_cmd = sla_cmd.add_parser("set", help="set the targets of one priority (business time)")
    set_cmd.add_argument("--priority", required=True, choices=sla.PRIORITIES)
    set_cmd.add_argument("--first-response", type=minutes, help="e.g. 30m")
    set_cmd.add_argument("--resolution", type=minutes, help="e.g. 8h")
    set_cmd.set_defaults(func=cmd_sla_set)
    sla_cmd.add_parser("list", help="the targets in force").set_defaults(func=cmd_sla_list)

    hours = account.add_parser("hours", help="the account's own business hours (SLA clocks)")
    hours.add_argument("slug")
    group = hours.add_mutually_exclusive_group(required=True)
    group.add_argument("hours", nargs="?", help='"09:00-18:00" or "09:00-18:00 1-5" (days: 1 = Monday)')
    group.add_argument("--clear", action="store_true", help="use the deployment's hours again")
    hours.set_defaults(func=cmd_account_hours)
    holidays = account.add_parser("holidays", help="days off of the account (no SLA time passes); lists them")
    holidays.add_argument("slug")
    holidays.add_argument("--add", type=_day, action="append", metavar="YYYY-MM-DD")
    holidays.add_argument("--remove", type=_day, action="append", metavar="YYYY-MM-DD")
    holidays.set_defaults(func=cmd_account_holidays)
    auto = account.add_parser("autoassign", help="round robin of waiting threads among online agents")
    auto.add_argument("slug")
    group = auto.add_mutually_exclusive_group(required=True)
    group.add_argument("--capacity", type=int, help="threads one agent may hold at once")
    group.add_argument("--off", action="store_true")
    auto.set_defaults(func=cmd_account_autoassign)
    union = account.add_parser("unionid", help="the WeChat account is bound to an open platform: link followers "
                                               "by unionid")
    union.add_argument("slug")
    group = union.add_mutually_exclusive_group(required=True)
    group.add_argument("--on", action="store_true", dest="on")
    group.add_argument("--off", action="store_false", dest="on")
    union.set_defaults(func=cmd_account_unionid)

    canned_cmd = sub.add_parser("canned", help="canned replies agents insert with /").add_subparsers(
        dest="canned_command", required=True)
    add = canned_cmd.add_parser("add", help="add a canned reply")
    add.add_argument("shortcut")
    add.add_argument("text")
    add.add_argument("--title")
    add.set_defaults(func=cmd_canned_add)
    canned_cmd.add_parser("list", help="all canned replies").set_defaults(func=cmd_canned_list)
    remove = canned_cmd.add_parser("remove", help="remove a canned reply")
    remove.add_argument("shortcut")
    remove.set_defaults(func=cmd_canned_remove)
