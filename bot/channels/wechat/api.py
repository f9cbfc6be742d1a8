"""WeChat official accounts, outbound: the customer-service message API, on aiohttp.

wechatpy's client is synchronous and its `auto_retry` refetches tokens without limit on a
persistent 40001, so the few calls needed are made here, asynchronously: a shared token
from a `TokenStore` (one refresher for all processes), at most ONE refresh per send on
40001/42001/40014, never a loop.
"""
from __future__ import annotations

import asyncio
import json
from typing import Protocol

import aiohttp

from bot.channels.outbound import HttpClient, SendError
from bot.channels.wechat.inbound import Credentials

TOKEN_ERRORS = {40001, 40014, 42001}
# errcode -> why the message cannot be delivered, as an agent reads it (no retry)
PERMANENT = {
    45015: "超出客服消息回复时限（用户48小时内未互动）或用户已取消关注",
    45047: "客服消息条数已用完，请等待用户再次发消息",
    43004: "用户未关注公众号",
    43019: "用户已将公众号加入黑名单",
    48001: "公众号没有客服消息接口权限（未认证）",
    40003: "无效的用户 openid",
    45002: "消息内容过长",
    40013: "无效的 AppID",
    40125: "AppSecret 错误，请管理员检查账号配置",
}


class TokenStore(Protocol):
    async def valid(self, account_id: int) -> str | None: ...
    async def lock_refresh(self, account_id: int) -> bool: ...
    async def save(self, account_id: int, token: str, expires_in: int) -> None: ...
    async def release(self, account_id: int) -> None: ...
    async def invalidate(self, account_id: int, token: str) -> None: ...


class WeChatApi(HttpClient):
    def __init__(self, base_url: str, tokens: TokenStore, timeout: float = 10.0) -> None:
        super().__init__(base_url, timeout)
        self.tokens = tokens

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            async with self.http().request(method, self.base_url + path, **kwargs) as response:
                if response.status >= 500:
                    raise SendError(f"WeChat API HTTP {response.status}", retry=True)
                if response.status != 200:
                    raise SendError(f"WeChat API HTTP {response.status}", retry=False)
                body = json.loads(await response.text())
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise SendError(f"network error talking to WeChat: {type(exc).__name__}", retry=True) from None
        except ValueError:
            raise SendError("WeChat API answered something that is not JSON", retry=True) from None
        return body

    async def _fetch_token(self, account_id: int, credentials: Credentials) -> str:
        body = await self._call("GET", "/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": credentials.app_id, "secret": credentials.secret})
        if "access_token" not in body:
            code = body.get("errcode")
            raise SendError(PERMANENT.get(code, f"token fetch failed: errcode {code}"),
                            retry=code == -1, errcode=code)
        await self.tokens.save(account_id, body["access_token"], int(body.get("expires_in", 7200)))
        return body["access_token"]

    async def token(self, account_id: int, credentials: Credentials) -> str:
        """The shared token; fetched by one process while the others wait for it."""
        for _ in range(100):
            token = await self.tokens.valid(account_id)
            if token:
                return token
            if await self.tokens.lock_refresh(account_id):
                try:
                    return await self._fetch_token(account_id, credentials)
                except SendError:
                    await self.tokens.release(account_id)
                    raise
            await asyncio.sleep(0.1)
        raise SendError("timed out waiting for another process to refresh the access token", retry=True)

    async def send_text(self, account_id: int, credentials: Credentials, openid: str, text: str) -> None:
        payload = json.dumps({"touser": openid, "msgtype": "text", "text": {"content": text}},
                             ensure_ascii=False).encode()
        for attempt in range(2):  # the second only after one token refresh
            token = await self.token(account_id, credentials)
            body = await self._call("POST", "/cgi-bin/message/custom/send", params={"access_token": token},
                                    data=payload, headers={"Content-Type": "application/json; charset=utf-8"})
            code = body.get("errcode", 0)
            if code == 0:
                return
            if code in TOKEN_ERRORS and attempt == 0:
                await self.tokens.invalidate(account_id, token)
                continue
            if code in PERMANENT:
                raise SendError(PERMANENT[code], retry=False, errcode=code)
            raise SendError(f"WeChat errcode {code}: {body.get('errmsg', '')}", retry=code in (-1, 45009, 45011),
                            errcode=code)
        raise SendError("access token rejected twice; check the account's AppID and AppSecret", retry=False,
                        errcode=40001)
