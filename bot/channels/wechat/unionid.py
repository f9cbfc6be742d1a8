"""WeChat unionids: looked up in the background, then identities of one person linked.

An official account bound to an open-platform account (`accounts.open_platform`, set with
`carebot account unionid SLUG --on`) learns each follower's unionid, the same on every bound
account, through the user-info API (wechatpy's `WeChatClient.user.get`). The webhook never
waits for it: every server runs `UnionidLinker.run`, which finds the customers of bound accounts
whose unionid is not known yet, leases each lookup (any number of servers), asks WeChat with
no transaction open and stores the answer; failures are retried with the outbox's backoff, up to
MAX_ATTEMPTS, and errors WeChat will repeat (an unknown openid, no permission) are not retried.

wechatpy's client is synchronous (requests), so the call runs in a thread, with the account's
access token from the shared store (one refresher for all processes, as for sends) and
auto_retry off: a rejected token is refetched once here, never in a loop.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.channels.outbound import SendError
from bot.channels.wechat.api import TOKEN_ERRORS, WeChatApi
from bot.channels.wechat.inbound import Credentials
from bot.channels.wechat.webhook import wechat_credentials
from bot.delivery import backoff
from bot.desk import profiles
from bot.runtime import Runtime
from bot.secret_box import SecretKeyError
from bot.store import people
from bot.store.models import Account
from bot.store.tokens import DbTokenStore

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BATCH = 20
LEASE = timedelta(seconds=60)
RETRIED = {-1, 45009, 45011}  # system busy, quotas: worth another try later


class UnionidLinker:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.api = WeChatApi(rt.settings.wechat_api_base, DbTokenStore(rt.db), rt.settings.platform_timeout)

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.run_once()
                except Exception:  # a database hiccup must not end the task; leased rows come back
                    log.exception("unionid lookups failed; retrying")
                await asyncio.sleep(self.rt.settings.wechat_unionid_interval)
        finally:
            await self.api.close()

    async def run_once(self) -> int:
        """Look up every due customer once; how many lookups this process made."""
        now = datetime.now(timezone.utc)
        async with self.rt.db.sessions() as session:
            due = await people.unionid_due(session, now, BATCH)
        done = 0
        for customer_id, account_id, openid, attempts in due:
            async with self.rt.db.uow() as session:
                claimed = await people.claim_unionid(session, customer_id, now, LEASE)
                account = await session.get(Account, account_id) if claimed else None
            if account is not None:
                await self._lookup(account, customer_id, openid, attempts + 1)
                done += 1
        return done

    async def _lookup(self, account: Account, customer_id: int, openid: str, attempts: int) -> None:
        now = datetime.now(timezone.utc)
        try:
            unionid = await self.fetch(account, openid)
        except (SendError, SecretKeyError) as exc:
            retry = isinstance(exc, SendError) and exc.retry and attempts < MAX_ATTEMPTS
            async with self.rt.db.uow() as session:
                await people.unionid_failed(session, customer_id, retry_at=now + backoff(attempts) if retry else None)
            log.warning("unionid of customer %s (%s): %s", customer_id, "retrying" if retry else "given up", exc)
            return
        async with self.rt.db.uow() as session:
            await profiles.link_by_unionid(session, customer_id, unionid, now)

    async def fetch(self, account: Account, openid: str) -> str | None:
        """The follower's unionid (None when WeChat gives none); SendError when the call failed."""
        credentials = wechat_credentials(account)
        for attempt in range(2):  # the second only after one token refresh
            token = await self.api.token(account.id, credentials)
            try:
                info = await asyncio.to_thread(self._user_get, credentials, token, openid)
            except WeChatClientException as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 0:
                    await self.api.tokens.invalidate(account.id, token)
                    continue
                raise SendError(f"WeChat user/info errcode {exc.errcode}: {exc.errmsg}",
                                retry=exc.errcode is None or exc.errcode in RETRIED, errcode=exc.errcode) from None
            except requests.RequestException as exc:
                raise SendError(f"network error talking to WeChat: {type(exc).__name__}", retry=True) from None
            unionid = info.get("unionid") if isinstance(info, dict) else None
            return unionid if isinstance(unionid, str) and unionid else None
        raise SendError("access token rejected twice", retry=False, errcode=40001)

    def _user_get(self, credentials: Credentials, token: str, openid: str) -> Any:
        client = WeChatClient(credentials.app_id, credentials.secret, access_token=token,
                              timeout=self.rt.settings.platform_timeout, auto_retry=False)
        client.API_BASE_URL = self.rt.settings.wechat_api_base.rstrip("/") + "/cgi-bin/"
        try:
            return client.user.get(openid)
        finally:
            client._http.close()  # wechatpy opens a requests session per client and never closes it
