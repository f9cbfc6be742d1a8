"""Agents, the accounts they work for, their browser sessions and API tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Agent, AgentAccount, AgentSession, ApiToken


class AgentExists(ValueError):
    pass


async def by_username(session: AsyncSession, username: str) -> Agent | None:
    return (await session.execute(select(Agent).where(Agent.username == username))).scalar_one_or_none()


async def locked(session: AsyncSession, agent_id: int) -> Agent:
    """The agent's row, read fresh and locked for this transaction (so their load cannot change
    while auto-assignment counts it)."""
    return (await session.execute(select(Agent).where(Agent.id == agent_id).with_for_update()
                                  .execution_options(populate_existing=True))).scalar_one()


async def names(session: AsyncSession) -> dict[int, str]:
    """Every agent's name as pages show it (display name, else username)."""
    return {a.id: a.display_name or a.username for a in (await session.execute(select(Agent))).scalars()}


async def reserve_login_attempt(session: AsyncSession, agent_id: int, now: datetime, max_failures: int) -> bool:
    """Count a login attempt as failed before its password is checked; False when the agent is
    locked or `max_failures` attempts are counted already.

    One conditional UPDATE, so concurrent attempts cannot all read the same count: the
    database lets only `max_failures` of them through (a row lock on PostgreSQL, the write
    lock on SQLite). A right password takes the count back (`login_succeeded`). Call it
    first in its transaction, so that SQLite takes the write lock at once.
    """
    result = await session.execute(
        update(Agent).where(Agent.id == agent_id, Agent.failed_logins < max_failures,
                            or_(Agent.locked_until.is_(None), Agent.locked_until <= now))
        .values(failed_logins=Agent.failed_logins + 1).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def lock_if_exhausted(session: AsyncSession, agent_id: int, until: datetime, max_failures: int) -> bool:
    """Lock the agent until `until` once `max_failures` attempts have failed; True if this call
    locked it (so exactly one of several concurrent failures records the lock)."""
    result = await session.execute(
        update(Agent).where(Agent.id == agent_id, Agent.failed_logins >= max_failures)
        .values(locked_until=until, failed_logins=0).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def login_succeeded(session: AsyncSession, agent_id: int) -> None:
    await session.execute(update(Agent).where(Agent.id == agent_id).values(failed_logins=0, locked_until=None)
                          .execution_options(synchronize_session=False))


async def all_agents(session: AsyncSession) -> list[Agent]:
    return list((await session.execute(select(Agent).order_by(Agent.username))).scalars())


async def add(session: AsyncSession, *, username: str, display_name: str, role: str,
              password_hash: str | None, now: datetime) -> Agent:
    agent = Agent(username=username, display_name=display_name or username, role=role,
                  password_hash=password_hash, created_at=now)
    try:
        async with session.begin_nested():
            session.add(agent)
    except IntegrityError:
        raise AgentExists(f"an agent named {username!r} exists already") from None
    return agent


async def grant(session: AsyncSession, agent_id: int, account_id: int) -> bool:
    """Make the agent a member of the account; False if they were already."""
    exists = await session.get(AgentAccount, (agent_id, account_id))
    if exists is not None:
        return False
    session.add(AgentAccount(agent_id=agent_id, account_id=account_id))
    await session.flush()
    return True


async def account_ids(session: AsyncSession, agent_id: int) -> frozenset[int]:
    rows = await session.execute(select(AgentAccount.account_id).where(AgentAccount.agent_id == agent_id))
    return frozenset(rows.scalars())


async def members(session: AsyncSession, account_id: int) -> list[Agent]:
    """Agents who may work the account's threads: its members and every admin."""
    rows = await session.execute(select(Agent).where(or_(
        Agent.role == "admin",
        Agent.id.in_(select(AgentAccount.agent_id).where(AgentAccount.account_id == account_id))))
        .order_by(Agent.username))
    return list(rows.scalars())


async def add_session(session: AsyncSession, *, id_hash: str, agent_id: int, csrf_token: str,
                      now: datetime, expires_at: datetime) -> None:
    session.add(AgentSession(id=id_hash, agent_id=agent_id, csrf_token=csrf_token,
                             created_at=now, expires_at=expires_at))
    await session.flush()


async def live_session(session: AsyncSession, id_hash: str, now: datetime) -> tuple[AgentSession, Agent] | None:
    row = (await session.execute(select(AgentSession, Agent).join(Agent, Agent.id == AgentSession.agent_id)
                                 .where(AgentSession.id == id_hash, AgentSession.expires_at > now))).first()
    return (row[0], row[1]) if row else None


async def delete_session(session: AsyncSession, id_hash: str) -> None:
    await session.execute(delete(AgentSession).where(AgentSession.id == id_hash))


async def delete_expired_sessions(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(AgentSession).where(AgentSession.expires_at <= now))


async def add_token(session: AsyncSession, *, token_hash: str, agent_id: int, label: str, now: datetime,
                    expires_at: datetime | None) -> ApiToken:
    token = ApiToken(token_hash=token_hash, agent_id=agent_id, label=label, created_at=now, expires_at=expires_at)
    session.add(token)
    await session.flush()
    return token


async def token_agent(session: AsyncSession, token_hash: str, now: datetime) -> Agent | None:
    row = (await session.execute(select(Agent).join(ApiToken, ApiToken.agent_id == Agent.id).where(
        ApiToken.token_hash == token_hash, or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now)))).first()
    return row[0] if row else None
