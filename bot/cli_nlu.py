"""`carebot chat|ask|train|nlu|faq`: talking to the bot, and the understanding it is taught."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from bot import cli_models
from bot.channels import console, registry
from bot.conversation import retraining
from bot.conversation.evaluation import parse_all, read_holdout, score
from bot.conversation.messages import InboundMessage
from bot.conversation.pipeline import Conversation
from bot.desk import faq_admin
from bot.nlu import quality, rasa_yaml
from bot.nlu.pool import worker_command
from bot.nlu.result import Parse
from bot.nlu.training import active_model, assemble, ensure_model, progress, run_worker, save_figures
from bot.runtime import CliError, Context, Runtime
from bot.store import faq, training_jobs


async def cmd_chat(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.runtime() as rt:
        await console.chat(rt.conversation, args.sender, as_json=args.json)


def _read_lines(args: argparse.Namespace) -> list[str]:
    texts = list(args.text)
    if args.file:
        try:
            texts += Path(args.file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror}")
    if not texts and not sys.stdin.isatty():
        texts = sys.stdin.read().splitlines()
    if not texts:
        raise CliError("nothing to ask: give TEXT, --file F or lines on stdin")
    return texts


async def cmd_ask(ctx: Context, args: argparse.Namespace) -> None:
    texts = _read_lines(args)
    async with ctx.runtime() as rt:
        parses = await parse_all(rt.conversation.prepare, rt.pool.parse, texts)
        for number, (text, parse) in enumerate(zip(texts, parses)):
            message = InboundMessage(platform="console", account="console", sender=f"ask-{os.getpid()}-{number}", text=text)
            outcome = await rt.conversation.handle(message, parse, dry_run=True)
            row = {"text": text, "intent": outcome.intent, "confidence": outcome.confidence,
                   "action": outcome.action, "reply": "\n".join(outcome.replies)}
            if args.json:
                print(json.dumps(row, ensure_ascii=False), flush=False)
            else:
                print(f"{text}\n  -> {row['intent']} ({row['confidence']}) {row['action']}: {row['reply']}")
    sys.stdout.flush()


async def _holdout_metrics(rt: Runtime, path: Path) -> dict:
    expected, texts = read_holdout(path)
    parses = await parse_all(rt.conversation.prepare, rt.pool.parse, texts)
    report = score(expected, [rt.conversation.prepare(t) for t in texts], parses, rt.settings)
    return {"holdout": report.summary(), "report": report}


async def cmd_train(ctx: Context, args: argparse.Namespace) -> None:
    settings = ctx.settings
    async with ctx.database() as db:
        try:  # one training at a time, whoever starts it (this command or the models page)
            job = await retraining.begin(db, actor="cli")
        except training_jobs.Busy as exc:
            raise CliError(f"not started: {exc}; wait for it to finish (its progress: /admin/models)") from None
        result = await retraining.run(db, settings, job, force=args.force, gate=not args.no_gate, echo=progress)
        model = result.model
        if result.trained or args.holdout:
            print(quality.report(model.metrics.get("calibration") or {}))
        if args.holdout:
            holdout = Path(args.holdout)
            if not holdout.is_file():
                raise CliError(f"no such file: {holdout}")
            rt = Runtime.assemble(settings, db)
            await rt.pool.start(model.path)
            try:
                evaluation = await _holdout_metrics(rt, holdout)
            finally:
                await rt.pool.close()
            await save_figures(db, model, {**model.metrics, "holdout": evaluation["holdout"]})
            print(f"Held-out evaluation on {holdout.name}: {json.dumps(evaluation['holdout'])}")
        cli_models.report_gate(result)


async def cmd_nlu_evaluate(ctx: Context, args: argparse.Namespace) -> None:
    settings = ctx.settings
    async with ctx.database() as db:
        work = settings.home / "evaluation"
        training = await assemble(db, settings, work)
        progress(f"Cross-validation, {args.folds} folds (one training per fold) ...")
        events = await run_worker(settings, "evaluate", "--data", str(work / "nlu.yml"),
                                  "--config", str(work / "config.yml"), "--folds", str(args.folds))
    predictions = next(e["predictions"] for e in events if e.get("event") == "evaluated")
    expected, texts = [p[0] for p in predictions], [p[2] for p in predictions]
    parses = [Parse.from_worker(p[1], p[1].get("calibration")) for p in predictions]
    raw = score(expected, texts, [Parse(p.intent, 1.0, similarity=1.0) for p in parses],
                replace(settings, complaint_keywords=(), urgent_keywords=(), safety_keywords=()))
    acted = score(expected, texts, parses, settings)
    print(f"data {training.data_hash[:12]}, {len(predictions)} examples, {args.folds} folds")
    print("raw classifier:", json.dumps(raw.summary()))
    print("after the policy (thresholds, out-of-scope signal, tone):", json.dumps(acted.summary()))
    print(acted.table())
    # the weak FAQs of the data just evaluated (the active model may predate an admin's edits)
    confused = Counter((want, got) for want, got, _ in raw.pairs if want != got)
    print(quality.weak_faq_report(quality.weak_faqs(dict(Counter(expected)),
                                                    [[w, g, n] for (w, g), n in confused.most_common()])))


async def cmd_nlu_serve(ctx: Context, args: argparse.Namespace) -> None:
    settings = ctx.settings
    model = args.model
    if model is None:
        async with ctx.database() as db:
            active = await active_model(db)
            model = active.path if active else (await ensure_model(db, settings, say=progress))[0].path
    command, env = worker_command(settings, "serve", "--model", model, "--port", str(args.port))
    os.execve(command[0], command, env)


async def cmd_faq_import(ctx: Context, args: argparse.Namespace) -> None:
    try:
        records = rasa_yaml.read_faq(Path(args.file))
    except FileNotFoundError:
        raise CliError(f"no such file: {args.file}")
    except rasa_yaml.TrainingFileError as exc:
        raise CliError(f"invalid FAQ file, nothing changed: {exc}")
    async with ctx.database() as db:
        try:
            counts = await faq_admin.import_records(db, actor="cli", records=records, replace=args.replace,
                                                    source=str(args.file), now=datetime.now(timezone.utc))
        except faq.FaqError as exc:
            raise CliError(f"invalid FAQ file, nothing changed: {args.file}: {exc.reason}") from None
    print(f"FAQ import: {counts['added']} added, {counts['updated']} updated, {counts['removed']} removed. "
          "Run `carebot train` to retrain (answers are live already).")
    for record in records:
        _warn_split(record)


def _warn_split(record: faq.FaqRecord) -> None:
    """An answer longer than a platform's message goes out in parts: say so, and show them."""
    for warning in registry.split_warnings(record.answer.strip()):
        parts = warning["parts"]
        print(f"warning: the answer of {record.name} is over the {warning['platform']} message limit ({warning['limit']}): "
              f"it will be sent in {len(parts)} messages:", file=sys.stderr)
        for number, part in enumerate(parts, 1):
            print(f"  {number}/{len(parts)} ({len(part)} characters): {part}", file=sys.stderr)


async def cmd_faq_export(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        records = await faq_admin.export_records(db)
    Path(args.file).write_text(rasa_yaml.render_faq(records), encoding="utf-8")
    print(f"Exported {len(records)} FAQ intents to {args.file}")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    chat = sub.add_parser("chat", help="talk to the bot as a customer")
    chat.add_argument("--sender", default="console-user")
    chat.add_argument("--json", action="store_true")
    chat.set_defaults(func=cmd_chat)

    ask = sub.add_parser("ask", help="understanding and decision per message, nothing stored",
                         epilog="intents: the FAQ names (faq/...), greet, goodbye, thanks, bot_challenge, complain, "
                                "praise, request_human, ticket_status, out_of_scope, nlu_fallback (unsure)")
    ask.add_argument("--json", action="store_true")
    ask.add_argument("--file")
    ask.add_argument("text", nargs="*")
    ask.set_defaults(func=cmd_ask)

    train = sub.add_parser("train", help="train (if the data changed), evaluate, and activate unless the gate "
                                         "finds the model worse than the active one (then exit 3)")
    train.add_argument("--force", action="store_true")
    train.add_argument("--holdout", help="held-out set (intent<TAB>text) to evaluate on")
    train.add_argument("--no-gate", action="store_true", help="activate the model even if it is worse")
    train.set_defaults(func=cmd_train)

    nlu = sub.add_parser("nlu").add_subparsers(dest="nlu_command", required=True)
    evaluate = nlu.add_parser("evaluate", help="cross-validation with per-intent figures")
    evaluate.add_argument("--folds", type=int, default=5)
    evaluate.set_defaults(func=cmd_nlu_evaluate)
    serve_nlu = nlu.add_parser("serve", help="run one NLU worker in the foreground")
    serve_nlu.add_argument("--model")
    serve_nlu.add_argument("--port", type=int, default=0)
    serve_nlu.set_defaults(func=cmd_nlu_serve)

    faq_cmd = sub.add_parser("faq").add_subparsers(dest="faq_command", required=True)
    imp = faq_cmd.add_parser("import", help="import FAQ intents from Rasa YAML")
    imp.add_argument("--replace", action="store_true", help="drop FAQ intents missing from FILE")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_faq_import)
    exp = faq_cmd.add_parser("export", help="export FAQ intents as Rasa YAML")
    exp.add_argument("file")
    exp.set_defaults(func=cmd_faq_export)
