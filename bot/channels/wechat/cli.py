"""WeChat's CLI sub-commands: `carebot account add wechat` and `carebot simulate wechat`."""
from __future__ import annotations

import argparse
import re
from typing import Any

from bot.channels import admin
from bot.channels.base import Channel
from bot.channels.wechat import simulate
from bot.channels.wechat.webhook import wechat_credentials
from bot.runtime import CliError, Context


def add_commands(channel: Channel, add: Any, simulators: Any) -> None:
    parser = admin.account_parser(add, channel, "a WeChat official account")
    parser.add_argument("--appid", required=True)
    parser.add_argument("--secret-env", help="environment variable holding the AppSecret (else stdin)")
    parser.add_argument("--token", help="the Token to paste into WeChat (generated if omitted)")
    parser.add_argument("--aes-key", help="the EncodingAESKey (43 letters/digits; generated if omitted)")
    parser.set_defaults(func=lambda ctx, args: account_add(ctx, channel, args))
    sim = admin.simulator_parser(simulators, channel)
    sim.add_argument("--safe", action="store_true", help="safe mode (encrypted)")
    sim.add_argument("--compat", action="store_true", help="compatible mode")
    sim.add_argument("--openid", default="oSIMULATEDuser000000000000001")
    sim.set_defaults(func=lambda ctx, args: simulate_push(ctx, channel, args))


async def account_add(ctx: Context, channel: Channel, args: argparse.Namespace) -> None:
    admin.check_slug(args.slug)
    token = args.token or admin.random_alnum(32)
    if not re.fullmatch(r"[A-Za-z0-9]{3,32}", token):
        raise CliError("--token must be 3-32 letters or digits (WeChat's rule)")
    aes_key = args.aes_key or admin.random_alnum(43)
    if not re.fullmatch(r"[A-Za-z0-9]{43}", aes_key):
        raise CliError("--aes-key must be the 43-character EncodingAESKey")
    app_secret = admin.secret_from(args.secret_env, "AppSecret")
    sealed = admin.seal_all({"secret": app_secret, "token": token, "aes_key": aes_key})
    url = await admin.add_account(ctx, channel, args, args.appid, sealed)
    print(f"Added WeChat account {args.slug}. In the WeChat admin console (基本配置 > 服务器配置) set:")
    print(f"  URL (服务器地址):           {url}")
    print(f"  Token (令牌):               {token}")
    print(f"  EncodingAESKey:             {aes_key}   (any mode works: plaintext, compatible, safe)")
    print("The AppSecret is stored encrypted and is never shown.")


async def simulate_push(ctx: Context, channel: Channel, args: argparse.Namespace) -> None:
    """Push a message as WeChat would (signed, encrypted in safe mode) and print the reply."""
    credentials = await admin.account_credentials(ctx, channel, args.slug, wechat_credentials)
    base = (args.url or ctx.local_url()).rstrip("/")
    mode = "safe" if args.safe else "compat" if args.compat else "plain"
    answer = await simulate.push(f"{base}/webhooks/{channel.platform}/{args.slug}", credentials,
                                 " ".join(args.text), args.openid, mode)
    if answer.status is None:
        raise CliError(f"no answer from {args.url or ctx.local_url()}: {answer.error}")
    if answer.content is not None:
        print(answer.content)
    else:
        print(f"(HTTP {answer.status}: {answer.body[:200] or 'empty'}; a reply, if any, goes through the API)")
