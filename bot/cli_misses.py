"""`carebot misses list|label|dismiss`: what the bot missed, from the terminal (the same
service as the admins' /admin/misses page: bot.desk.misses). Changes are audited as "cli"."""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone

from bot.desk import misses
from bot.desk.access import Refusal
from bot.runtime import CliError, Context, positive

ACTOR = "cli"


async def cmd_list(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        rows = [g.as_json() for g in await misses.open_groups(db, args.limit)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        confidence = "-" if row["confidence"] is None else f"{row['confidence']:.2f}"
        print(f"{row['id']}\t{row['count']}x\t{row['created'][:19]}\t{row['action']}\t{row['intent']}\t"
              f"{confidence}\t{row['text']}")


async def cmd_label(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        try:
            await misses.label(db, ctx.settings, [args.id], args.intent, actor=ACTOR, now=datetime.now(timezone.utc))
        except Refusal as exc:
            raise CliError(exc.reason) from None
    print(f"miss {args.id}: added as an example of {args.intent}; `carebot train` to teach the model")


async def cmd_dismiss(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        try:
            await misses.dismiss(db, [args.id], actor=ACTOR, now=datetime.now(timezone.utc))
        except Refusal as exc:
            raise CliError(exc.reason) from None
    print(f"miss {args.id}: dismissed")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("misses", help="what the bot missed: list, label, dismiss").add_subparsers(
        dest="misses_command", required=True)
    listing = group.add_parser("list", help="open misses grouped by similar wording, most frequent first")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--limit", type=positive, default=50, help="groups shown (default 50)")
    listing.set_defaults(func=cmd_list)
    labelling = group.add_parser("label", help="add the message as an example of INTENT (an FAQ or a conversation "
                                               "intent such as out_of_scope)")
    labelling.add_argument("id", type=positive)
    labelling.add_argument("intent")
    labelling.set_defaults(func=cmd_label)
    dismissal = group.add_parser("dismiss", help="close a miss without teaching anything")
    dismissal.add_argument("id", type=positive)
    dismissal.set_defaults(func=cmd_dismiss)
