"""Who is acting, and which accounts' threads they may see (admins: all)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store import agents
from bot.store.models import Agent


class Refusal(Exception):
    """An action refused for a reason the agent reads (`reason`, in Chinese); nothing changed."""

    default = "操作被拒绝"

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or self.default)
        self.reason = reason or self.default


class Forbidden(Refusal):
    default = "无权访问"


class NotFound(Refusal):
    default = "不存在"


@dataclass(frozen=True)
class Viewer:
    id: int
    username: str
    display_name: str
    role: str
    account_ids: frozenset[int] | None  # None: every account (admins)
    status: str = "offline"  # online agents get threads by auto-assignment

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def sees(self, account_id: int) -> bool:
        return self.account_ids is None or account_id in self.account_ids

    def check(self, account_id: int) -> None:
        """Raise NotFound for another account's record (its existence is not revealed)."""
        if not self.sees(account_id):
            raise NotFound()

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("仅管理员可以执行此操作")

    def visible(self, account_column: ColumnElement) -> ColumnElement[bool]:
        """A WHERE clause limiting a query to the viewer's accounts."""
        return true() if self.account_ids is None else account_column.in_(self.account_ids)


async def viewer_of(session: AsyncSession, agent: Agent) -> Viewer:
    ids = None if agent.role == "admin" else await agents.account_ids(session, agent.id)
    return Viewer(agent.id, agent.username, agent.display_name, agent.role, ids, agent.status)
