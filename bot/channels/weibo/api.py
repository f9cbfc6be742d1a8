"""Weibo fan-service platform, outbound: `messages/reply.json`, on aiohttp.

Weibo answers errors with HTTP 4xx and a JSON body `{"error_code": "21327", "error": ...}`
(protocols.md). The access token is the account's own, set by an admin (there is no token
endpoint to refresh it from), so an expired or invalid token fails the message with a
reason an admin can act on; rate limits and server errors are retried by the outbox.
"""
from __future__ import annotations

import asyncio
import json

import aiohttp

from bot.channels.outbound import HttpClient, SendError
from bot.channels.weibo.inbound import Credentials, encode_data

REPLY_PATH = "/2/messages/reply.json"
RATE_LIMITS = {10022, 10023, 10024}  # IP / user / user-per-API requests out of rate limit
RETRYABLE = RATE_LIMITS | {10001, 10002, 10003, 10009, 21331}  # system errors, busy, unavailable
# error_code -> why the message cannot be delivered, as an admin or agent reads it (no retry)
PERMANENT = {
    21327: "微博 access_token 已过期，请管理员重新授权后用 carebot account add weibo --update 更新",
    21332: "微博 access_token 无效，请管理员检查后用 carebot account add weibo --update 更新",
    21501: "微博 access_token 无效，请管理员检查后用 carebot account add weibo --update 更新",
    10014: "应用没有微博私信回复接口的权限，请管理员在粉丝服务平台开通",
    10008: "微博拒绝了请求参数（消息格式或内容有误）",
}


def _error_code(body: object) -> int | None:
    code = body.get("error_code") if isinstance(body, dict) else None
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


class WeiboApi(HttpClient):
    async def send_text(self, credentials: Credentials, receiver_id: str, text: str) -> None:
        form = {"type": "text", "data": encode_data({"text": text}), "receiver_id": receiver_id,
                "save_sender_box": "0"}
        try:
            async with self.http().post(self.base_url + REPLY_PATH,
                                        params={"access_token": credentials.access_token},
                                        data=form) as response:
                status, raw = response.status, await response.text()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise SendError(f"network error talking to Weibo: {type(exc).__name__}", retry=True) from None
        if status >= 500:
            raise SendError(f"Weibo API HTTP {status}", retry=True)
        try:
            body = json.loads(raw)
        except ValueError:
            raise SendError(f"Weibo API HTTP {status} answered something that is not JSON", retry=True) from None
        code = _error_code(body)
        if status == 200 and code is None:
            return
        if code in PERMANENT:
            raise SendError(PERMANENT[code], retry=False, errcode=code)
        error = body.get("error", "") if isinstance(body, dict) else ""
        if code in RETRYABLE:
            raise SendError(f"Weibo error {code} ({error}), will retry", retry=True, errcode=code)
        raise SendError(f"微博拒绝发送：{error or 'HTTP ' + str(status)}（错误码 {code}）", retry=False, errcode=code)
