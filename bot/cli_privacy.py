"""`carebot customer export|erase ID` and `carebot purge`: PIPL requests and the retention purge from
the terminal, through the same services as the admin API (bot.desk.privacy, bot.desk.retention).
One id is given; every identity linked to it is exported or erased with it. Audited as "cli"."""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone

from bot.desk import privacy, retention
from bot.desk.access import Refusal
from bot.runtime import CliError, Context, positive

ACTOR = "cli"


async def cmd_export(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        try:
            async with db.uow() as session:
                document = await privacy.export(session, args.id, actor=ACTOR, now=datetime.now(timezone.utc))
        except Refusal as exc:
            raise CliError(exc.reason) from None
    print(json.dumps(document, ensure_ascii=False, indent=2))


async def cmd_erase(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        try:
            async with db.uow() as session:
                ids = await privacy.erasable(session, await privacy.person_ids(session, args.id), args.id)
                if not args.yes:
                    raise CliError(f"not erased: erasing customer {args.id} (identities {', '.join(map(str, ids))}) "
                                   "replaces all their message text and removes their platform ids, for good; "
                                   "run again with --yes to do it")
                summary = await privacy.erase(session, args.id, actor=ACTOR, now=datetime.now(timezone.utc))
        except Refusal as exc:
            raise CliError(exc.reason) from None
    changed = ", ".join(f"{table} {rows}" for table, rows in summary["changed"].items() if rows)
    print(f"customer {args.id}: erased identities {', '.join(map(str, summary['customer_ids']))} ({changed}); "
          "their tickets stay as anonymous statistics")


async def cmd_purge(ctx: Context, args: argparse.Namespace) -> None:
    days = args.days if args.days is not None else ctx.settings.retention_days
    if days < 1:
        raise CliError("nothing to purge: CAREBOT_RETENTION_DAYS is 0 (keep forever); give --days N to purge anyway")
    async with ctx.database() as db:
        purged = await retention.purge(db, days, datetime.now(timezone.utc))
    print(f"purged the text of {retention.described(purged)} older than {days} days")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("customer", help="PIPL: export or erase what is stored about a customer").add_subparsers(
        dest="customer_command", required=True)
    exporting = group.add_parser("export", help="print everything stored about the customer and its linked "
                                                "identities as JSON")
    exporting.add_argument("id", type=positive)
    exporting.set_defaults(func=cmd_export)
    erasing = group.add_parser("erase", help="erase the customer's text and identities (and its linked ones); "
                                             "tickets stay as anonymous statistics")
    erasing.add_argument("id", type=positive)
    erasing.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    erasing.set_defaults(func=cmd_erase)
    purging = sub.add_parser("purge", help="replace message text older than CAREBOT_RETENTION_DAYS (or --days) "
                                           "days by a marker, in batches")
    purging.add_argument("--days", type=positive)
    purging.set_defaults(func=cmd_purge)
