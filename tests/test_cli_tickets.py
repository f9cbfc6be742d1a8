"""The SLA, holiday, auto-assignment and canned-reply commands, run as an admin runs them."""
import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.store.db import Database
from bot.store.models import Account, AccountHoliday, AuditEntry
from tests.conftest import carebot_env, run_carebot


def test_admin_commands_change_settings_and_refuse_bad_input(tmp_path: Path):
    env = carebot_env(tmp_path / "home", CAREBOT_SECRET_KEY="test-secret-key-of-at-least-32-characters",
                      APP_SECRET="s3cret")
    ok = lambda *args: run_carebot(list(args), env, timeout=120)  # noqa: E731
    assert ok("account", "add", "wechat", "--slug", "brand", "--appid", "wx1", "--secret-env", "APP_SECRET").returncode == 0

    result = ok("sla", "set", "--priority", "high", "--first-response", "1h", "--resolution", "1d")
    assert result.returncode == 0 and "1h00m" in result.stdout
    bad = ok("sla", "set", "--priority", "high", "--resolution", "30m")  # shorter than the first response
    assert bad.returncode != 0 and "shorter" in bad.stderr
    assert "high      1h00m           24h00m" in ok("sla", "list").stdout  # unchanged

    result = ok("account", "holidays", "brand", "--add", "2026-10-01", "--add", "2026-10-02")
    assert result.returncode == 0 and "2 holidays" in result.stdout
    result = ok("account", "holidays", "brand", "--remove", "2026-10-02")
    assert "1 holidays" in result.stdout and "2026-10-01" in result.stdout
    assert ok("account", "hours", "brand", "09:00-18:00 1-5").returncode == 0
    bad = ok("account", "hours", "brand", "18:00-09:00")
    assert bad.returncode != 0 and "close after" in bad.stderr
    assert ok("account", "autoassign", "brand", "--capacity", "3").returncode == 0
    missing = ok("account", "autoassign", "nosuch", "--off")
    assert missing.returncode != 0 and "nosuch" in missing.stderr
    assert "unionid" in ok("account", "unionid", "brand", "--on").stdout
    assert ok("account", "unionid", "brand").returncode == 2  # --on or --off

    assert ok("canned", "add", "hi", "您好，请问有什么可以帮您？", "--title", "问候").returncode == 0
    duplicate = ok("canned", "add", "hi", "again")
    assert duplicate.returncode != 0 and "已存在" in duplicate.stderr
    assert ok("canned", "remove", "hi").returncode == 0
    assert ok("canned", "list").stdout == ""

    async def stored():
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'home' / 'carebot.sqlite3'}")
        async with db.sessions() as session:
            account = (await session.execute(select(Account))).scalar_one()
            days = (await session.execute(select(AccountHoliday.day))).scalars().all()
            actions = (await session.execute(select(AuditEntry.action))).scalars().all()
        await db.dispose()
        return account, days, actions

    account, days, actions = asyncio.run(stored())
    assert (account.business_hours, account.autoassign_capacity, days) == ("09:00-18:00 1-5", 3, ["2026-10-01"])
    assert account.open_platform
    assert {"sla.set", "account.holidays", "account.hours", "account.autoassign", "account.open_platform",
            "canned.add", "canned.remove"} <= set(actions)
