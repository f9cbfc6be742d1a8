"""Agent accounts and logins: argon2 password hashes, database sessions, API tokens, lockout.

Session cookies and API tokens are random 256-bit values; only their SHA-256 is stored, so a
copy of the database logs nobody in. Sessions live in the database, so every `carebot serve`
process knows them. After MAX_FAILURES wrong passwords in a row the agent is locked for
LOCKOUT (however many attempts arrive at once), and every failure is answered only after
FAILURE_DELAY.

Unlike the other desk services (bot/desk/__init__.py), these open their own transactions:
a login attempt is counted in a committed transaction of its own before its password is
checked, and stays counted whatever the rest of the request does; the argon2 hash of a new
agent's password is computed before any transaction opens (it is slow on purpose);
and the rest (sessions, tokens, grants) are the whole of what their caller, the login
middleware or a CLI command, does.
"""
from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.desk.access import Refusal, Viewer, viewer_of
from bot.store import accounts, agents, audit
from bot.store.db import Database
from bot.store.models import Agent

ROLES = ("agent", "admin")
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=5)
FAILURE_DELAY = 0.5  # seconds
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 8
_hasher = PasswordHasher()
# verified against when the username is unknown, so that timing does not tell names apart
_DUMMY_HASH = _hasher.hash("carebot-no-such-agent")


class AuthError(Refusal):
    """Login or agent management refused (the reason never says whether a name exists)."""


@dataclass(frozen=True)
class LoggedIn:
    viewer: Viewer
    csrf_token: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"密码至少需要 {MIN_PASSWORD} 个字符")
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def add_agent(db: Database, *, username: str, role: str, password: str, now: datetime,
                    display_name: str = "", account_slugs: tuple[str, ...] = (), actor: str = "cli") -> Viewer:
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise AuthError("username must be 1-64 printable characters without spaces")
    password_hash = await hash_password(password)
    async with db.uow() as session:
        agent = await agents.add(session, username=username, display_name=display_name, role=role,
                                 password_hash=password_hash, now=now)
        for slug in account_slugs:
            await _grant(session, agent, slug, actor, now)
        await audit.record(session, actor, "agent.add", "agent", agent.id, now=now,
                           after={"username": username, "role": role, "accounts": list(account_slugs)})
        return await viewer_of(session, agent)


async def grant(db: Database, username: str, slug: str, now: datetime, actor: str = "cli") -> bool:
    async with db.uow() as session:
        agent = await agents.by_username(session, username)
        if agent is None:
            raise AuthError(f"no agent named {username!r}")
        return await _grant(session, agent, slug, actor, now)


async def _grant(session, agent, slug: str, actor: str, now: datetime) -> bool:
    account = await accounts.by_slug(session, slug)
    if account is None:
        raise AuthError(f"no account with slug {slug!r} (see `carebot account list`)")
    added = await agents.grant(session, agent.id, account.id)
    if added:
        await audit.record(session, actor, "agent.grant", "agent", agent.id, now=now, after={"account": slug})
    return added


async def check_password(db: Database, username: str, password: str, now: datetime) -> Viewer:
    """The agent, or AuthError after the failure delay.

    An attempt is counted as failed before its password is checked (a right one takes it
    back), so however many arrive at once, at most MAX_FAILURES wrong passwords are ever
    checked before the lock: the count is the database's, not this process's.
    """
    async with db.sessions() as session:
        agent = await agents.by_username(session, username)
    if agent is None:
        await _verify(_DUMMY_HASH, password)  # as slow as a known name
        await _refuse("用户名或密码错误")
    async with db.uow() as session:
        reserved = await agents.reserve_login_attempt(session, agent.id, now, MAX_FAILURES)
    if not reserved:
        # also a count left by attempts that never finished (a crash): it must not lock for ever
        await _lock_if_exhausted(db, agent, now)
        until = agent.locked_until if agent.locked_until and agent.locked_until > now else now + LOCKOUT
        await _refuse(f"登录失败次数过多，请 {max(1, int((until - now).total_seconds() // 60) + 1)} 分钟后再试")
    if agent.password_hash is not None and await _verify(agent.password_hash, password):
        async with db.uow() as session:
            await agents.login_succeeded(session, agent.id)
            return await viewer_of(session, agent)
    await _lock_if_exhausted(db, agent, now)
    await _refuse("用户名或密码错误")


async def _lock_if_exhausted(db: Database, agent: Agent, now: datetime) -> None:
    async with db.uow() as session:
        if await agents.lock_if_exhausted(session, agent.id, now + LOCKOUT, MAX_FAILURES):
            await audit.record(session, agent.username, "agent.locked", "agent", agent.id, now=now)


async def _refuse(reason: str) -> NoReturn:
    await asyncio.sleep(FAILURE_DELAY)
    raise AuthError(reason)


async def open_session(db: Database, viewer: Viewer, now: datetime) -> tuple[str, str]:
    """A new browser session: (cookie value, CSRF token)."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    async with db.uow() as session:
        await agents.delete_expired_sessions(session, now)
        await agents.add_session(session, id_hash=digest(cookie), agent_id=viewer.id, csrf_token=csrf,
                                 now=now, expires_at=now + SESSION_LIFETIME)
        await audit.record(session, viewer.username, "agent.login", "agent", viewer.id, now=now)
    return cookie, csrf


async def session_login(db: Database, cookie: str, now: datetime) -> LoggedIn | None:
    async with db.sessions() as session:
        found = await agents.live_session(session, digest(cookie), now)
        if found is None:
            return None
        row, agent = found
        return LoggedIn(await viewer_of(session, agent), row.csrf_token)


async def close_session(db: Database, cookie: str, viewer: Viewer, now: datetime) -> None:
    async with db.uow() as session:
        await agents.delete_session(session, digest(cookie))
        await audit.record(session, viewer.username, "agent.logout", "agent", viewer.id, now=now)


async def issue_token(db: Database, username: str, now: datetime, *, label: str = "cli",
                      ttl: timedelta | None = None, actor: str = "cli") -> str:
    """A new API token for the agent (shown once; only its hash is kept)."""
    token = "cbt_" + secrets.token_urlsafe(32)
    async with db.uow() as session:
        agent = await agents.by_username(session, username)
        if agent is None:
            raise AuthError(f"no agent named {username!r}")
        stored = await agents.add_token(session, token_hash=digest(token), agent_id=agent.id, label=label,
                                        now=now, expires_at=now + ttl if ttl else None)
        await audit.record(session, actor, "token.issue", "api_token", stored.id, now=now,
                           after={"agent": username, "label": label})
    return token


async def token_login(db: Database, token: str, now: datetime) -> Viewer | None:
    async with db.sessions() as session:
        agent = await agents.token_agent(session, digest(token), now)
        return await viewer_of(session, agent) if agent else None
