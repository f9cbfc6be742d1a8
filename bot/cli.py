"""`carebot`: the command line of admins and of anyone trying the bot.

The subcommands and their JSON output are a contract other tools rely on (see README).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from bot.channels import console
from bot.conversation.evaluation import read_holdout, score
from bot.conversation.messages import InboundMessage
from bot.nlu.result import Parse
from bot.conversation.pipeline import Conversation
from bot.nlu import rasa_yaml
from bot.nlu.normalize import is_meaningful
from bot.nlu.pool import NluPool, NluUnavailable, worker_command
from bot.nlu.training import active_model, assemble, ensure_model, progress, register_and_activate, run_worker
from bot.runtime import Runtime, database, runtime
from bot.settings import PROJECT_ROOT, Settings
from bot.store import faq
from bot.web.app import create_app

PARSE_CHUNK = 128


class CliError(Exception):
    """A user mistake: printed as one line, exit code 2."""


async def parse_all(conversation: Conversation, understand, texts: list[str]) -> list[Parse | None]:
    """Normalise and parse many texts in chunks (one model load, batched parses)."""
    prepared = [conversation.prepare(t) for t in texts]
    wanted = [i for i, t in enumerate(prepared) if is_meaningful(t)]
    results: list[Parse | None] = [None] * len(texts)
    for start in range(0, len(wanted), PARSE_CHUNK):
        chunk = wanted[start:start + PARSE_CHUNK]
        for index, parse in zip(chunk, await understand([prepared[i] for i in chunk])):
            results[index] = parse
    return results


async def cmd_chat(args: argparse.Namespace) -> None:
    async with runtime() as rt:
        await console.chat(rt.conversation.handle, args.sender, as_json=args.json)


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


async def cmd_ask(args: argparse.Namespace) -> None:
    texts = _read_lines(args)
    async with runtime() as rt:
        parses = await parse_all(rt.conversation, rt.pool.parse, texts)
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
    parses = await parse_all(rt.conversation, rt.pool.parse, texts)
    report = score(expected, [rt.conversation.prepare(t) for t in texts], parses, rt.settings)
    return {"holdout": report.summary(), "report": report}


async def cmd_train(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    async with database(settings) as db:
        model, trained = await ensure_model(db, settings, force=args.force, say=progress)
        holdout = Path(args.holdout) if args.holdout else PROJECT_ROOT / "tests" / "data" / "holdout.tsv"
        if (trained or args.holdout) and holdout.is_file():
            pool = NluPool(settings)
            await pool.start(model.path)
            try:
                rt = Runtime(settings, db, pool, Conversation(db, pool.parse, settings))
                result = await _holdout_metrics(rt, holdout)
            finally:
                await pool.close()
            await register_and_activate(db, model.data_hash, Path(model.path),
                                        {**model.metrics, "holdout": result["holdout"]})
            print(f"Held-out evaluation on {holdout.name}: {json.dumps(result['holdout'])}")
        print(f"Active model: {model.version} ({model.path})")


async def cmd_nlu_evaluate(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    async with database(settings) as db:
        work = settings.home / "evaluation"
        training = await assemble(db, settings, work)
        progress(f"Cross-validation, {args.folds} folds (one training per fold) ...")
        events = await run_worker(settings, "evaluate", "--data", str(work / "nlu.yml"),
                                  "--config", str(work / "config.yml"), "--folds", str(args.folds))
    predictions = next(e["predictions"] for e in events if e.get("event") == "evaluated")
    expected, texts = [p[0] for p in predictions], [p[4] for p in predictions]
    raw = score(expected, texts, [Parse(p[1], 1.0, similarity=1.0) for p in predictions],
                replace(settings, complaint_keywords=(), urgent_keywords=(), safety_keywords=()))
    acted = score(expected, texts, [Parse(p[1], p[2], similarity=p[3]) for p in predictions], settings)
    print(f"data {training.data_hash[:12]}, {len(predictions)} examples, {args.folds} folds")
    print("raw classifier:", json.dumps(raw.summary()))
    print("after thresholds and out-of-scope signal:", json.dumps(acted.summary()))
    print(acted.table())


async def cmd_nlu_serve(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    model = args.model
    if model is None:
        async with database(settings) as db:
            active = await active_model(db)
            model = active.path if active else (await ensure_model(db, settings, say=progress))[0].path
    command, env = worker_command(settings, "serve", "--model", model, "--port", str(args.port))
    os.execve(command[0], command, env)


async def cmd_faq_import(args: argparse.Namespace) -> None:
    try:
        records = rasa_yaml.read_faq(Path(args.file))
    except FileNotFoundError:
        raise CliError(f"no such file: {args.file}")
    except rasa_yaml.TrainingFileError as exc:
        raise CliError(f"invalid FAQ file, nothing changed: {exc}")
    settings = Settings.from_env()
    async with database(settings) as db:
        async with db.uow() as session:
            counts = await faq.upsert(session, records, replace=args.replace)
    print(f"FAQ import: {counts['added']} added, {counts['updated']} updated, {counts['removed']} removed. "
          "Run `carebot train` to retrain (answers are live already).")


async def cmd_faq_export(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    async with database(settings) as db:
        async with db.sessions() as session:
            records = await faq.records(session)
    Path(args.file).write_text(rasa_yaml.render_faq(records), encoding="utf-8")
    print(f"Exported {len(records)} FAQ intents to {args.file}")


async def cmd_serve(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    host, port = args.host or settings.host, args.port or settings.port
    async with database(settings) as db:
        pool = NluPool(settings)
        rt = Runtime(settings, db, pool, Conversation(db, pool.parse, settings))
        runner = web.AppRunner(create_app(rt), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        logging.getLogger("carebot").info("listening on http://%s:%s", host, port)
        print(f"carebot listening on http://{host}:{port} (healthz 503 until the model is loaded)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            model, _ = await ensure_model(db, settings, say=progress)
            await pool.start(model.path)
            print(f"model {model.version} loaded; ready", flush=True)
            await stop.wait()
        finally:
            await runner.cleanup()
            await pool.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carebot", description="Customer-care bot for WeChat and Weibo")
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="talk to the bot as a customer")
    chat.add_argument("--sender", default="console-user")
    chat.add_argument("--json", action="store_true")
    chat.set_defaults(func=cmd_chat)

    ask = sub.add_parser("ask", help="understanding and decision per message, nothing stored")
    ask.add_argument("--json", action="store_true")
    ask.add_argument("--file")
    ask.add_argument("text", nargs="*")
    ask.set_defaults(func=cmd_ask)

    train = sub.add_parser("train", help="train (if the data changed), evaluate and activate")
    train.add_argument("--force", action="store_true")
    train.add_argument("--holdout", help="held-out set (intent<TAB>text) to evaluate on")
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

    serve = sub.add_parser("serve", help="run the web server, webhooks and NLU workers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=os.environ.get("CAREBOT_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(args.func(args))
    except CliError as exc:
        print(f"carebot: {exc}", file=sys.stderr)
        raise SystemExit(2)
    except (NluUnavailable, ValueError) as exc:
        print(f"carebot: {exc}", file=sys.stderr)
        raise SystemExit(1)
    except KeyboardInterrupt:
        raise SystemExit(130)


if __name__ == "__main__":
    main()
