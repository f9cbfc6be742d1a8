"""`carebot`: the command line of admins and of anyone trying the bot.

The subcommands and their JSON output are a contract other tools rely on (see README).
Every command is `async def cmd(ctx: Context, args)`; a command that cannot do what was
asked raises `CliError` (bot/runtime.py), printed as one line with its exit code. The
commands live by topic: bot/cli_nlu.py (chat, ask, train, nlu, faq), bot/cli_agents.py,
bot/cli_tickets.py, bot/cli_reports.py, bot/cli_privacy.py, and each channel's own (`account add <platform>`, `simulate <platform>`).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from aiohttp import web

from bot import cli_agents, cli_misses, cli_models, cli_nlu, cli_privacy, cli_reports, cli_tickets
from bot.channels import console, registry
from bot.conversation.retraining import judge_on_test_set
from bot.heap import freeze_startup_objects
from bot.nlu import worker_records
from bot.nlu.pool import NluUnavailable
from bot.nlu.training import ensure_model, progress
from bot.runtime import CliError, Context, Runtime
from bot.store import accounts
from bot.web.app import create_app
from bot.web.hardening import app_runner


async def cmd_account_list(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        async with db.sessions() as session:
            rows = await accounts.all_accounts(session)
    print(f"{'slug':20} {'platform':9} {'name':20} {'appid':22} webhook")
    for account in rows:
        if account.platform == console.PLATFORM:
            continue
        print(f"{account.slug:20} {account.platform:9} {account.name:20} {account.app_id or '-':22} "
              f"/webhooks/{account.platform}/{account.slug}")


async def cmd_serve(ctx: Context, args: argparse.Namespace) -> None:
    settings = ctx.settings
    host, port = args.host or settings.host, args.port or settings.port
    for pid in worker_records.reap_stale(settings.home):  # a crashed predecessor's worker
        print(f"stopped NLU worker {pid}, left behind by a service that is gone", file=sys.stderr, flush=True)
    async with ctx.database() as db:
        rt = Runtime.assemble(settings, db)
        runner = app_runner(create_app(rt), settings, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        logging.getLogger("carebot").info("listening on http://%s:%s", host, port)
        print(f"carebot listening on http://{host}:{port} (healthz 503 until the model is loaded)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            model, _ = await ensure_model(db, settings, judge=judge_on_test_set(db, settings, progress),
                                          say=progress)
            await rt.pool.start(model.path)
            freeze_startup_objects()
            print(f"model {model.version} loaded; ready", flush=True)
            await stop.wait()
        finally:
            await runner.cleanup()
            await rt.pool.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carebot", description="Customer-care bot for WeChat and Weibo")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_nlu.add_parsers(sub)

    account = sub.add_parser("account").add_subparsers(dest="account_command", required=True)
    add = account.add_parser("add", help="register an official account").add_subparsers(dest="platform", required=True)
    simulate = sub.add_parser("simulate").add_subparsers(dest="platform", required=True)
    for channel in registry.CHANNELS:
        if channel.commands is not None:
            channel.commands(channel, add, simulate)
    account.add_parser("list", help="list accounts (never secrets)").set_defaults(func=cmd_account_list)

    serve = sub.add_parser("serve", help="run the web server, webhooks and NLU workers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    cli_agents.add_parsers(sub)
    cli_models.add_parsers(sub)
    cli_misses.add_parsers(sub)
    cli_tickets.add_parsers(sub, account)
    cli_reports.add_parsers(sub)
    cli_privacy.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=os.environ.get("CAREBOT_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(args.func(Context(), args))
    except CliError as exc:
        print(f"carebot: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code)
    except (NluUnavailable, ValueError) as exc:  # a broken setting, an NLU that cannot start
        print(f"carebot: {exc}", file=sys.stderr)
        raise SystemExit(1)
    except KeyboardInterrupt:
        raise SystemExit(130)


if __name__ == "__main__":
    main()
