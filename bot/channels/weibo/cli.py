"""Weibo's CLI sub-commands: `carebot account add weibo` and `carebot simulate weibo`."""
from __future__ import annotations

import argparse
import re
from typing import Any

from bot.channels import admin
from bot.channels.base import Channel
from bot.channels.weibo import simulate
from bot.channels.weibo.webhook import weibo_credentials
from bot.runtime import CliError, Context
from bot.store import accounts


def add_commands(channel: Channel, add: Any, simulators: Any) -> None:
    parser = admin.account_parser(add, channel, "a Weibo account on the fan-service platform")
    parser.add_argument("--app-secret-env", help="environment variable holding the App Secret (else stdin)")
    parser.add_argument("--access-token-env", help="environment variable holding the access token (else stdin)")
    parser.add_argument("--uid", help="the account's Weibo uid (pushes for other receivers are refused)")
    parser.add_argument("--update", action="store_true",
                        help="replace the credentials of an existing Weibo account (an expired token)")
    parser.set_defaults(func=lambda ctx, args: account_add(ctx, channel, args))
    sim = admin.simulator_parser(simulators, channel)
    sim.add_argument("--sender", default="2489518277", help="the fan's Weibo uid")
    sim.add_argument("--mention", action="store_true", help="as a public @mention")
    sim.set_defaults(func=lambda ctx, args: simulate_push(ctx, channel, args))


async def account_add(ctx: Context, channel: Channel, args: argparse.Namespace) -> None:
    """A Weibo account: its app secret signs the pushes, its access token sends replies."""
    admin.check_slug(args.slug)
    if args.uid is not None and not re.fullmatch(r"[0-9]{1,20}", args.uid):
        raise CliError("--uid must be the account's numeric Weibo uid")
    app_secret = admin.secret_from(args.app_secret_env, "App Secret", "--app-secret-env")
    access_token = admin.secret_from(args.access_token_env, "access token", "--access-token-env")
    sealed = admin.seal_all({"app_secret": app_secret, "access_token": access_token})
    if args.update:
        async with ctx.database() as db:
            async with db.uow() as session:
                if not await accounts.replace_credentials(session, platform=channel.platform, slug=args.slug,
                                                          app_id=args.uid, sealed=sealed):
                    raise CliError(f"no Weibo account {args.slug!r} to update (see `carebot account list`)")
        print(f"Updated the credentials of Weibo account {args.slug} (running servers use them within 10 s); "
              "queued replies that failed on the old token must be sent again by an agent.")
        return
    url = await admin.add_account(ctx, channel, args, args.uid, sealed)
    print(f"Added Weibo account {args.slug}. In the Weibo fan-service platform (粉丝服务平台 > 高级功能 > "
          "开发者模式) set:")
    print(f"  URL (服务器地址):           {url}")
    print("Weibo signs its pushes with the app's App Secret; the App Secret and access token are stored "
          "encrypted and are never shown.")
    if args.uid is None:
        print("Without --uid, pushes for any receiver_id signed with this App Secret are accepted.")


async def simulate_push(ctx: Context, channel: Channel, args: argparse.Namespace) -> None:
    """Push a message as Weibo would (signed with the app secret) and print the passive reply."""
    credentials = await admin.account_credentials(ctx, channel, args.slug, weibo_credentials)
    if not args.sender.isdigit():
        raise CliError("--sender must be a numeric Weibo uid")
    base = args.url or ctx.local_url()
    message = simulate.message(" ".join(args.text), int(args.sender),
                               int(credentials.uid or simulate.DEFAULT_ACCOUNT), mention=args.mention)
    answer = await simulate.push(f"{base.rstrip('/')}/webhooks/{channel.platform}/{args.slug}",
                                 credentials.app_secret, message)
    if answer.status is None:
        raise CliError(f"no answer from {base}: {answer.error}")
    if answer.error:
        raise CliError(f"Weibo would refuse the answer: {answer.error} (HTTP {answer.status}: {answer.body[:200]})")
    if answer.text is not None:
        print(answer.text)
    else:
        print("(acknowledged with an empty body; a reply, if any, goes through messages/reply.json)")
