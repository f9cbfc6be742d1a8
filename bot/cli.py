"""`carebot`: the command line of admins and of anyone trying the bot.

The subcommands and their JSON output are a contract other tools rely on (see README).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import secrets
import signal
import string
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from bot import cli_agents, cli_models, cli_tickets
from bot.channels import console
from bot.conversation.evaluation import read_holdout, score
from bot.conversation.messages import InboundMessage
from bot.nlu.result import Parse
from bot.conversation.pipeline import Conversation
from bot.nlu import quality, rasa_yaml, worker_records
from bot.nlu.normalize import is_meaningful
from bot.nlu.pool import NluPool, NluUnavailable, worker_command
from bot.nlu.training import active_model, assemble, ensure_model, progress, run_worker, save_figures, train
from bot.runtime import Runtime, database, runtime
from bot.settings import Settings
from bot.secret_box import SecretKeyError, seal
from bot.store import accounts, faq, threads
from bot.web.app import create_app
from bot.web.hardening import app_runner

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
        result = await train(db, settings, force=args.force, gate=not args.no_gate, say=progress)
        model = result.model
        if result.trained or args.holdout:
            print(quality.report(model.metrics.get("calibration") or {}))
        if args.holdout:
            holdout = Path(args.holdout)
            if not holdout.is_file():
                raise CliError(f"no such file: {holdout}")
            pool = NluPool(settings)
            await pool.start(model.path)
            try:
                rt = Runtime(settings, db, pool, Conversation(db, pool.parse, settings))
                evaluation = await _holdout_metrics(rt, holdout)
            finally:
                await pool.close()
            await save_figures(db, model, {**model.metrics, "holdout": evaluation["holdout"]})
            print(f"Held-out evaluation on {holdout.name}: {json.dumps(evaluation['holdout'])}")
        cli_models.report_gate(result)


async def cmd_nlu_evaluate(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    async with database(settings) as db:
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


def _secret_from(env_name: str | None, what: str, flag: str = "--secret-env") -> str:
    """Secrets come from an environment variable or stdin, never from the command line."""
    if env_name:
        value = os.environ.get(env_name, "")
        if not value:
            raise CliError(f"environment variable {env_name} (the {what}) is empty or not set")
        return value
    if sys.stdin.isatty():
        import getpass
        return getpass.getpass(f"{what}: ")
    value = sys.stdin.readline().strip()
    if not value:
        raise CliError(f"no {what} on stdin (or give {flag} VAR)")
    return value


def _random_alnum(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _check_slug(slug: str) -> None:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", slug):
        raise CliError("--slug must be lower-case letters, digits and dashes (it becomes the webhook URL)")


def _seal_all(secrets_by_name: dict[str, str]) -> dict[str, str | None]:
    try:
        return {name: seal(value) for name, value in secrets_by_name.items()}
    except SecretKeyError as exc:
        raise CliError(str(exc))


async def _add_account(platform: str, args: argparse.Namespace, app_id: str | None,
                       sealed: dict[str, str | None]) -> str:
    """Store the account; returns its webhook URL as the platform must be told it."""
    settings = Settings.from_env()
    async with database(settings) as db:
        async with db.uow() as session:
            try:
                await accounts.add(session, platform=platform, slug=args.slug, name=args.name or args.slug,
                                   app_id=app_id, sealed=sealed)
            except accounts.AccountExists as exc:
                raise CliError(str(exc))
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return f"{base.rstrip('/')}/webhooks/{platform}/{args.slug}"


async def cmd_account_add(args: argparse.Namespace) -> None:
    _check_slug(args.slug)
    token = args.token or _random_alnum(32)
    if not re.fullmatch(r"[A-Za-z0-9]{3,32}", token):
        raise CliError("--token must be 3-32 letters or digits (WeChat's rule)")
    aes_key = args.aes_key or _random_alnum(43)
    if not re.fullmatch(r"[A-Za-z0-9]{43}", aes_key):
        raise CliError("--aes-key must be the 43-character EncodingAESKey")
    app_secret = _secret_from(args.secret_env, "AppSecret")
    sealed = _seal_all({"secret": app_secret, "token": token, "aes_key": aes_key})
    url = await _add_account("wechat", args, args.appid, sealed)
    print(f"Added WeChat account {args.slug}. In the WeChat admin console (基本配置 > 服务器配置) set:")
    print(f"  URL (服务器地址):           {url}")
    print(f"  Token (令牌):               {token}")
    print(f"  EncodingAESKey:             {aes_key}   (any mode works: plaintext, compatible, safe)")
    print("The AppSecret is stored encrypted and is never shown.")


async def cmd_account_add_weibo(args: argparse.Namespace) -> None:
    """A Weibo account: its app secret signs the pushes, its access token sends replies."""
    _check_slug(args.slug)
    if args.uid is not None and not re.fullmatch(r"[0-9]{1,20}", args.uid):
        raise CliError("--uid must be the account's numeric Weibo uid")
    app_secret = _secret_from(args.app_secret_env, "App Secret", "--app-secret-env")
    access_token = _secret_from(args.access_token_env, "access token", "--access-token-env")
    sealed = _seal_all({"app_secret": app_secret, "access_token": access_token})
    if args.update:
        settings = Settings.from_env()
        async with database(settings) as db:
            async with db.uow() as session:
                if not await accounts.replace_credentials(session, platform="weibo", slug=args.slug,
                                                          app_id=args.uid, sealed=sealed):
                    raise CliError(f"no Weibo account {args.slug!r} to update (see `carebot account list`)")
        print(f"Updated the credentials of Weibo account {args.slug} (running servers use them within 10 s); "
              "queued replies that failed on the old token must be sent again by an agent.")
        return
    url = await _add_account("weibo", args, args.uid, sealed)
    print(f"Added Weibo account {args.slug}. In the Weibo fan-service platform (粉丝服务平台 > 高级功能 > "
          "开发者模式) set:")
    print(f"  URL (服务器地址):           {url}")
    print("Weibo signs its pushes with the app's App Secret; the App Secret and access token are stored "
          "encrypted and are never shown.")
    if args.uid is None:
        print("Without --uid, pushes for any receiver_id signed with this App Secret are accepted.")


async def _account_credentials(slug: str, platform: str, label: str, unseal) -> tuple[Settings, object]:
    """An account's unsealed credentials, for the simulators."""
    settings = Settings.from_env()
    async with database(settings) as db:
        async with db.sessions() as session:
            account = await threads.account_by_slug(session, slug)
    if account is None or account.platform != platform:
        raise CliError(f"no {label} account {slug!r} (see `carebot account list`)")
    try:
        return settings, unseal(account)
    except SecretKeyError as exc:
        raise CliError(str(exc))


async def cmd_account_list(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    async with database(settings) as db:
        async with db.sessions() as session:
            rows = await accounts.all_accounts(session)
    print(f"{'slug':20} {'platform':9} {'name':20} {'appid':22} webhook")
    for account in rows:
        if account.platform == "console":
            continue
        print(f"{account.slug:20} {account.platform:9} {account.name:20} {account.app_id or '-':22} "
              f"/webhooks/{account.platform}/{account.slug}")


async def cmd_simulate_wechat(args: argparse.Namespace) -> None:
    """Push a message as WeChat would (signed, encrypted in safe mode) and print the reply."""
    from bot.fakes import wechat_push
    from bot.web.wechat_webhook import wechat_credentials

    settings, credentials = await _account_credentials(args.slug, "wechat", "WeChat", wechat_credentials)
    base = args.url or f"http://{settings.host}:{settings.port}"
    mode = "safe" if args.safe else "compat" if args.compat else "plain"
    result = await wechat_push.push(f"{base.rstrip('/')}/webhooks/wechat/{args.slug}", credentials.token,
                                    wechat_push.text_xml(" ".join(args.text), openid=args.openid),
                                    mode=mode, aes_key=credentials.aes_key, appid=credentials.app_id)
    if result.status is None:
        raise CliError(f"no answer from {base}: {result.error}")
    if result.reply:
        print(result.reply.get("Content", ""))
    else:
        print(f"(HTTP {result.status}: {result.body[:200] or 'empty'}; a reply, if any, goes through the API)")


async def cmd_simulate_weibo(args: argparse.Namespace) -> None:
    """Push a message as Weibo would (signed with the app secret) and print the passive reply."""
    from bot.fakes import weibo_push
    from bot.web.weibo_webhook import weibo_credentials

    settings, credentials = await _account_credentials(args.slug, "weibo", "Weibo", weibo_credentials)
    if not args.sender.isdigit():
        raise CliError("--sender must be a numeric Weibo uid")
    base = args.url or f"http://{settings.host}:{settings.port}"
    build = weibo_push.mention_push if args.mention else weibo_push.text_push
    message = build(" ".join(args.text), sender_id=int(args.sender),
                    receiver_id=int(credentials.uid or weibo_push.DEFAULT_ACCOUNT))
    result = await weibo_push.push(f"{base.rstrip('/')}/webhooks/weibo/{args.slug}", credentials.app_secret, message)
    if result.status is None:
        raise CliError(f"no answer from {base}: {result.error}")
    if result.error:
        raise CliError(f"Weibo would refuse the answer: {result.error} (HTTP {result.status}: {result.body[:200]})")
    if result.reply:
        print(result.reply["text"])
    else:
        print("(acknowledged with an empty body; a reply, if any, goes through messages/reply.json)")


async def cmd_serve(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    host, port = args.host or settings.host, args.port or settings.port
    for pid in worker_records.reap_stale(settings.home):  # a crashed predecessor's worker
        print(f"stopped NLU worker {pid}, left behind by a service that is gone", file=sys.stderr, flush=True)
    async with database(settings) as db:
        pool = NluPool(settings)
        rt = Runtime(settings, db, pool, Conversation(db, pool.parse, settings))
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
            model, _ = await ensure_model(db, settings, say=progress)
            await pool.start(model.path)
            print(f"model {model.version} loaded; ready", flush=True)
            await stop.wait()
        finally:
            await runner.cleanup()
            await pool.close()


def _simulator(simulate, platform: str, label: str, func) -> argparse.ArgumentParser:
    parser = simulate.add_parser(platform, help=f"push a message to a running server as {label} would")
    parser.add_argument("--slug", required=True)
    parser.add_argument("--url", help="server base URL (default: CAREBOT_HOST/PORT)")
    parser.add_argument("text", nargs="+")
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carebot", description="Customer-care bot for WeChat and Weibo")
    sub = parser.add_subparsers(dest="command", required=True)

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

    account = sub.add_parser("account").add_subparsers(dest="account_command", required=True)
    add = account.add_parser("add", help="register an official account").add_subparsers(dest="platform", required=True)
    add_wechat = add.add_parser("wechat", help="a WeChat official account")
    add_wechat.add_argument("--slug", required=True)
    add_wechat.add_argument("--appid", required=True)
    add_wechat.add_argument("--secret-env", help="environment variable holding the AppSecret (else stdin)")
    add_wechat.add_argument("--token", help="the Token to paste into WeChat (generated if omitted)")
    add_wechat.add_argument("--aes-key", help="the EncodingAESKey (43 letters/digits; generated if omitted)")
    add_wechat.add_argument("--name")
    add_wechat.set_defaults(func=cmd_account_add)
    add_weibo = add.add_parser("weibo", help="a Weibo account on the fan-service platform")
    add_weibo.add_argument("--slug", required=True)
    add_weibo.add_argument("--app-secret-env", help="environment variable holding the App Secret (else stdin)")
    add_weibo.add_argument("--access-token-env", help="environment variable holding the access token (else stdin)")
    add_weibo.add_argument("--uid", help="the account's Weibo uid (pushes for other receivers are refused)")
    add_weibo.add_argument("--name")
    add_weibo.add_argument("--update", action="store_true",
                           help="replace the credentials of an existing Weibo account (an expired token)")
    add_weibo.set_defaults(func=cmd_account_add_weibo)
    account.add_parser("list", help="list accounts (never secrets)").set_defaults(func=cmd_account_list)

    simulate = sub.add_parser("simulate").add_subparsers(dest="platform", required=True)
    sim_wechat = _simulator(simulate, "wechat", "WeChat", cmd_simulate_wechat)
    sim_wechat.add_argument("--safe", action="store_true", help="safe mode (encrypted)")
    sim_wechat.add_argument("--compat", action="store_true", help="compatible mode")
    sim_wechat.add_argument("--openid", default="oSIMULATEDuser000000000000001")
    sim_weibo = _simulator(simulate, "weibo", "Weibo", cmd_simulate_weibo)
    sim_weibo.add_argument("--sender", default="2489518277", help="the fan's Weibo uid")
    sim_weibo.add_argument("--mention", action="store_true", help="as a public @mention")

    serve = sub.add_parser("serve", help="run the web server, webhooks and NLU workers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    cli_agents.add_parsers(sub)
    cli_models.add_parsers(sub)
    cli_tickets.add_parsers(sub, account)
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
