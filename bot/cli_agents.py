"""`carebot agent ...`: agents, their passwords, API tokens and account memberships.

Passwords come from a prompt or stdin (`--password-stdin`), never from the command line,
where other users of the machine could read them.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime, timezone

from bot.desk import auth
from bot.runtime import CliError, Context
from bot.store import agents


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on stdin")
        return password
    if not sys.stdin.isatty():
        raise CliError("give --password-stdin to read the password from a pipe")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise CliError("the passwords differ")
    return first


async def cmd_agent_add(ctx: Context, args: argparse.Namespace) -> None:
    password = _password(args)
    async with ctx.database() as db:
        try:
            viewer = await auth.add_agent(db, username=args.name, role=args.role, password=password,
                                          display_name=args.display_name or "", now=datetime.now(timezone.utc),
                                          account_slugs=tuple(args.account or ()))
        except (auth.AuthError, agents.AgentExists) as exc:
            raise CliError(getattr(exc, "reason", str(exc))) from None
    where = "all accounts" if viewer.is_admin else (", ".join(args.account) if args.account else "no account yet")
    print(f"Added {viewer.role} {viewer.username} ({where}).")


async def cmd_agent_grant(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        try:
            added = await auth.grant(db, args.name, args.slug, datetime.now(timezone.utc))
        except auth.AuthError as exc:
            raise CliError(exc.reason) from None
    print(f"{args.name} {'now works' if added else 'already worked'} for {args.slug}.")


async def cmd_agent_token(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        try:
            token = await auth.issue_token(db, args.name, datetime.now(timezone.utc), label=args.label)
        except auth.AuthError as exc:
            raise CliError(exc.reason) from None
    print(token)


async def cmd_agent_list(ctx: Context, args: argparse.Namespace) -> None:
    async with ctx.database() as db:
        async with db.sessions() as session:
            for agent in await agents.all_agents(session):
                print(f"{agent.username}\t{agent.role}\t{agent.display_name}")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    agent = sub.add_parser("agent", help="agents of the inbox").add_subparsers(dest="agent_command", required=True)
    add = agent.add_parser("add", help="add an agent (password from a prompt or --password-stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=auth.ROLES, default="agent")
    add.add_argument("--display-name")
    add.add_argument("--account", action="append", metavar="SLUG", help="an account they work for (repeatable)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.set_defaults(func=cmd_agent_add)
    grant = agent.add_parser("grant", help="let an agent work an account's threads")
    grant.add_argument("name")
    grant.add_argument("slug")
    grant.set_defaults(func=cmd_agent_grant)
    token = agent.add_parser("token", help="print a new API token for the agent (only its hash is stored)")
    token.add_argument("name")
    token.add_argument("--label", default="cli")
    token.set_defaults(func=cmd_agent_token)
    agent.add_parser("list", help="list agents").set_defaults(func=cmd_agent_list)
