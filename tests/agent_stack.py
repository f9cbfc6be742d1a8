"""A running carebot app for agent tests: real model, real database, fake WeChat on loopback.

Shared by the inbox API tests and the browser test; only the platform is fake.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
from aiohttp import web

from devkit import wechat_push as wx
from devkit import wechat_xml as wxml
from devkit import weibo_push as wb
from devkit.wechat_api import FakeWeChatState, start_fake_wechat_api
from devkit.weibo_api import FakeWeiboState, start_fake_weibo_api
from bot.desk import auth
from bot.nlu.pool import NluPool
from bot.nlu.training import ensure_model
from bot.runtime import Runtime, database
from bot.secret_box import seal
from bot.store import accounts
from bot.web.app import create_app
from bot.web.hardening import app_runner
from tests.conftest import make_settings

APPID, SECRET, TOKEN = "wx_agent_app_0001", "app-secret-agent", "carebotToken77"
OTHER_APPID = "wx_agent_app_0002"
PASSWORD = "correct-horse-42"
# the Weibo account an `agent_stack(..., weibo=True)` also has (slug "weibo")
WEIBO_SECRET, WEIBO_TOKEN, WEIBO_UID = "weibo-agent-secret-01", "2.00weiboAgentToken01", "1902538099"


@dataclass
class AgentStack:
    base: str
    api: FakeWeChatState
    rt: Runtime
    aes_key: str
    weibo: FakeWeiboState | None = None

    async def push(self, text: str, openid: str, slug: str = "brand") -> wx.PushResult:
        self.api.user_message(openid)  # the platform opens its reply window too
        return await wx.push(f"{self.base}/webhooks/wechat/{slug}", TOKEN, wxml.text_xml(text, openid=openid),
                             mode="safe", aes_key=self.aes_key, appid=APPID if slug == "brand" else OTHER_APPID)

    async def push_weibo(self, text: str, uid: int, *, mention: bool = False) -> wb.PushResult:
        """A private message, or a public post that @mentions the account."""
        assert self.weibo is not None, "agent_stack(..., weibo=True)"
        self.weibo.user_message(uid)
        make = wb.mention_push if mention else wb.text_push
        return await wb.push(f"{self.base}/webhooks/weibo/weibo", WEIBO_SECRET,
                             make(text, sender_id=uid, receiver_id=int(WEIBO_UID)))

    async def add_agent(self, name: str, role: str = "agent", accounts: tuple[str, ...] = ("brand",)) -> None:
        await auth.add_agent(self.rt.db, username=name, role=role, password=PASSWORD, display_name=name.title(),
                             now=datetime.now(timezone.utc), account_slugs=() if role == "admin" else accounts)

    async def token(self, name: str) -> dict[str, str]:
        token = await auth.issue_token(self.rt.db, name, datetime.now(timezone.utc))
        return {"Authorization": f"Bearer {token}"}


async def wait_until(predicate, timeout: float = 15.0, interval: float = 0.05) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(interval)
    return False


@asynccontextmanager
async def agent_stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, weibo: bool = False,
                      **env: str) -> AsyncIterator[AgentStack]:
    """The app with WeChat accounts "brand" and "other" (and with `weibo`, the Weibo account "weibo")."""
    api_runner, api_base, api = await start_fake_wechat_api(state=FakeWeChatState(apps={APPID: SECRET,
                                                                                        OTHER_APPID: SECRET}))
    weibo_runner = weibo_api = None
    if weibo:
        weibo_runner, env["CAREBOT_WEIBO_API_BASE"], weibo_api = await start_fake_weibo_api(
            state=FakeWeiboState(tokens={WEIBO_TOKEN: WEIBO_UID}))
    settings = make_settings(tmp_path, database_url, CAREBOT_BUSINESS_HOURS="00:00-23:59",
                             CAREBOT_WECHAT_API_BASE=api_base, **env)
    aes_key = wx.new_aes_key()
    async with database(settings) as db:
        async with db.uow() as session:
            for slug, appid in (("brand", APPID), ("other", OTHER_APPID)):
                await accounts.add(session, platform="wechat", slug=slug, name=f"{slug} 官方", app_id=appid,
                                   sealed={"secret": seal(SECRET), "token": seal(TOKEN), "aes_key": seal(aes_key)})
            if weibo:
                await accounts.add(session, platform="weibo", slug="weibo", name="微博官方", app_id=WEIBO_UID,
                                   sealed={"app_secret": seal(WEIBO_SECRET), "access_token": seal(WEIBO_TOKEN)})
        await ensure_model(db, settings, say=lambda _: None)
        rt = Runtime.assemble(settings, db, nlu_pool)
        runner = app_runner(create_app(rt), settings, shutdown_timeout=2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            yield AgentStack(f"http://127.0.0.1:{port}", api, rt, aes_key, weibo_api)
        finally:
            await runner.cleanup()
            await api_runner.cleanup()
            if weibo_runner is not None:
                await weibo_runner.cleanup()


@asynccontextmanager
async def staffed_stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch,
                        agents: dict[str, tuple[str, ...]], admins: tuple[str, ...] = (), weibo: bool = False,
                        **env: str) -> AsyncIterator[AgentStack]:
    """`agent_stack` (with settings `env`) with the secret key set and agents (name -> account slugs)
    and admins added."""
    monkeypatch.setenv("CAREBOT_SECRET_KEY", "test-secret-key-of-at-least-32-characters")
    async with agent_stack(nlu_pool, database_url, tmp_path, weibo, **env) as running:
        for name, slugs in agents.items():
            await running.add_agent(name, accounts=slugs)
        for name in admins:
            await running.add_agent(name, role="admin")
        yield running


async def login(http: aiohttp.ClientSession, base: str, username: str, password: str = PASSWORD) -> str:
    """Log in through the form as a browser does; returns the page's CSRF token."""
    async with http.get(f"{base}/login") as page:
        html = await page.text()
    login_csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    async with http.post(f"{base}/login", data={"username": username, "password": password,
                                                "csrf_token": login_csrf, "next": "/inbox"}) as response:
        html = await response.text()
        assert response.status == 200 and str(response.url).endswith("/inbox"), (response.status, html[:300])
    return html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


async def call(http: aiohttp.ClientSession, method: str, url: str, headers=None, **kwargs):
    """One HTTP call: the status and the body (parsed when it is JSON)."""
    async with http.request(method, url, headers=headers, **kwargs) as response:
        body = await response.json() if response.content_type == "application/json" else await response.text()
        return response.status, body
