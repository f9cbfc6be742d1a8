"""What every channel's CLI sub-commands share: secrets read from the environment or stdin
(never from the command line), sealed before they are stored; the account's slug rule; the
stored account and its unsealed credentials for `carebot simulate`.
"""
from __future__ import annotations

import argparse
import getpass
import os
import re
import secrets
import string
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from bot.channels.base import Channel
from bot.runtime import CliError, Context
from bot.secret_box import SecretKeyError, seal
from bot.store import accounts
from bot.store.models import Account

C = TypeVar("C")  # a channel's credentials


def secret_from(env_name: str | None, what: str, flag: str = "--secret-env") -> str:
    """Secrets come from an environment variable or stdin, never from the command line."""
    if env_name:
        value = os.environ.get(env_name, "")
        if not value:
            raise CliError(f"environment variable {env_name} (the {what}) is empty or not set")
        return value
    if sys.stdin.isatty():
        return getpass.getpass(f"{what}: ")
    value = sys.stdin.readline().strip()
    if not value:
        raise CliError(f"no {what} on stdin (or give {flag} VAR)")
    return value


def random_alnum(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def check_slug(slug: str) -> None:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", slug):
        raise CliError("--slug must be lower-case letters, digits and dashes (it becomes the webhook URL)")


def seal_all(secrets_by_name: dict[str, str]) -> dict[str, str | None]:
    try:
        return {name: seal(value) for name, value in secrets_by_name.items()}
    except SecretKeyError as exc:
        raise CliError(str(exc))


def account_parser(add: Any, channel: Channel, help_text: str) -> argparse.ArgumentParser:
    """`account add <platform>` with the flags every channel has (--slug, --name)."""
    parser = add.add_parser(channel.platform, help=help_text)
    parser.add_argument("--slug", required=True)
    parser.add_argument("--name")
    return parser


async def add_account(ctx: Context, channel: Channel, args: argparse.Namespace, app_id: str | None,
                      sealed: dict[str, str | None]) -> str:
    """Store the account; returns its webhook URL as the platform must be told it."""
    async with ctx.database() as db:
        async with db.uow() as session:
            try:
                await accounts.add(session, platform=channel.platform, slug=args.slug, name=args.name or args.slug,
                                   app_id=app_id, sealed=sealed)
            except accounts.AccountExists as exc:
                raise CliError(str(exc))
    return f"{ctx.public_url()}/webhooks/{channel.platform}/{args.slug}"


def simulator_parser(simulate: Any, channel: Channel) -> argparse.ArgumentParser:
    """`simulate <platform>` with the arguments every channel's simulator has."""
    parser = simulate.add_parser(channel.platform, help=f"push a message to a running server as {channel.label} would")
    parser.add_argument("--slug", required=True)
    parser.add_argument("--url", help="server base URL (default: CAREBOT_HOST/PORT)")
    parser.add_argument("text", nargs="+")
    return parser


async def account_credentials(ctx: Context, channel: Channel, slug: str, unseal: Callable[[Account], C]) -> C:
    """An account's unsealed credentials, for the simulators."""
    async with ctx.database() as db:
        async with db.sessions() as session:
            account = await accounts.by_slug(session, slug)
    if account is None or account.platform != channel.platform:
        raise CliError(f"no {channel.label} account {slug!r} (see `carebot account list`)")
    try:
        return unseal(account)
    except SecretKeyError as exc:
        raise CliError(str(exc))
