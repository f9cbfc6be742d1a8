"""`carebot simulate wechat`: push a text message to a running server as WeChat would, with
this channel's own signing and AES (the code that checks real pushes), and read the reply.

Why here and not in the loopback fakes (devkit/): an installed carebot has no devkit, and
an admin trying a new account wants to know that THIS server accepts pushes for it.
"""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import aiohttp

from bot.channels.signed_push import WebhookError, sha1_signature
from bot.channels.wechat.inbound import Credentials, cdata, crypto, parse_xml

ACCOUNT_ID = "gh_fakeaccount01"  # ToUserName: the webhook answers from whatever it is given
TIMEOUT = 5.0  # WeChat gives up after 5 s


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer
    body: str
    content: str | None = None  # the (decrypted) reply's text; None: acknowledged only
    error: str = ""


def text_xml(text: str, openid: str) -> str:
    """A text message as WeChat pushes it."""
    return ("<xml>"
            f"<ToUserName>{cdata(ACCOUNT_ID)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata('text')}</MsgType>"
            f"<Content>{cdata(text)}</Content><MsgId>{random.randrange(10**15, 2**63)}</MsgId>"
            "</xml>")


def signed(credentials: Credentials, xml: str, openid: str, mode: str) -> tuple[dict[str, str], str]:
    """The query and body of the push in `mode` (plain, compat or safe)."""
    timestamp, nonce = str(int(time.time())), str(random.randrange(10**8, 10**10))
    query = {"signature": sha1_signature(credentials.token, timestamp, nonce), "timestamp": timestamp,
             "nonce": nonce, "openid": openid}
    if mode == "plain":
        return query, xml
    encrypt = parse_xml(crypto(credentials).encrypt_message(xml, nonce, timestamp))["Encrypt"]
    query.update(encrypt_type="aes", msg_signature=sha1_signature(credentials.token, timestamp, nonce, encrypt))
    element = f"<Encrypt>{cdata(encrypt)}</Encrypt>"
    if mode == "safe":
        return query, f"<xml><ToUserName>{cdata(ACCOUNT_ID)}</ToUserName>{element}</xml>"
    return query, xml.replace("</xml>", element + "</xml>")


def read_reply(credentials: Credentials, status: int, body: str) -> Answer:
    """The reply's text, decrypted when it is encrypted; None for `success` or an empty body."""
    if status != 200 or body.strip() in ("", "success"):
        return Answer(status, body)
    try:
        fields = parse_xml(body)
        if "Encrypt" in fields:
            fields = parse_xml(crypto(credentials).decrypt_message(
                fields, fields.get("MsgSignature"), fields.get("TimeStamp"), fields.get("Nonce")))
    except Exception as exc:  # whatever makes the reply unreadable, WeChat would refuse it too
        return Answer(status, body, error=f"unreadable reply: {type(exc).__name__}")
    return Answer(status, body, fields.get("Content", ""))


async def push(url: str, credentials: Credentials, text: str, openid: str, mode: str = "plain") -> Answer:
    """POST the message to the webhook at `url` and read the answer."""
    try:
        query, body = signed(credentials, text_xml(text, openid), openid, mode)
    except WebhookError as exc:  # e.g. safe mode without an EncodingAESKey
        return Answer(None, "", error=exc.reason)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
            async with session.post(url, params=query, data=body.encode(),
                                    headers={"Content-Type": "text/xml"}) as response:
                return read_reply(credentials, response.status, (await response.read()).decode("utf-8", "replace"))
    except asyncio.TimeoutError:
        return Answer(None, "", error=f"no answer within {TIMEOUT} s")
    except aiohttp.ClientConnectionError as exc:
        return Answer(None, "", error=f"connection failed: {exc}")
