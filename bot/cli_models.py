"""`carebot model list|activate` and what `carebot train` says about the gate.

The registry keeps every trained model; `train` activates a new one only when the gate
(bot.nlu.gate) finds it no worse than the active one, otherwise it stays a candidate and
`train` exits with 3. `model activate ID` is the way back (a rollback) or forward (a
candidate an admin accepts anyway); running servers follow the active model within seconds.
"""
from __future__ import annotations

import argparse
import json

from bot.nlu.training import ModelRefused, Trained, activate
from bot.runtime import CliError, Context
from bot.store import nlu_models

HELD_BACK = 3  # exit code of `carebot train` when the gate kept the new model as a candidate


def report_gate(result: Trained) -> None:
    """Print the gate's verdict and the active model (the last line, which scripts read);
    exit with HELD_BACK when the new model was kept as a candidate."""
    if result.held_back:
        print(f"Held back by the gate: model {result.model.id} ({result.model.version}) stays a candidate:")
        for reason in result.reasons:
            print(f"  - {reason}")
        print(f"Activate it anyway with `carebot model activate {result.model.id}` or train with --no-gate.")
    print(f"Active model: {result.active.version} ({result.active.path})")
    if result.held_back:
        raise SystemExit(HELD_BACK)


async def cmd_model_list(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        async with db.sessions() as session:
            rows = [nlu_models.describe(model) for model in await nlu_models.every(session)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        state = "active" if row["active"] else "candidate" if row["candidate"] else "-"
        accuracy = "-" if row["cv_accuracy"] is None else f"{row['cv_accuracy']:.1%}"
        missing = "" if row["file_present"] else "  (file deleted)"
        print(f"{row['id']}\t{row['version']}\t{row['created'][:19]}\t{state}\tcv {accuracy}{missing}")
        for reason in row["gate_reasons"]:
            print(f"\t  held back: {reason}")


async def cmd_model_activate(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        try:
            model = await activate(db, args.id)
        except ModelRefused as exc:
            raise CliError(str(exc)) from None
    print(f"Active model: {model.version} ({model.path}); running servers switch to it within seconds.")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    model = sub.add_parser("model", help="the model registry: list, activate (rollback)").add_subparsers(
        dest="model_command", required=True)
    listing = model.add_parser("list", help="every trained model, newest first, with its evaluation figures")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_model_list)
    activation = model.add_parser("activate", help="activate a model: a rollback, or a candidate the gate held back")
    activation.add_argument("id", type=int)
    activation.set_defaults(func=cmd_model_activate)
