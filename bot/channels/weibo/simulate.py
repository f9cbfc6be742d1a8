"""`carebot simulate weibo`: push a message (or a public @mention) to a running server as
Weibo would, signed with this channel's own scheme, and judge the passive reply as Weibo does.

Why here and not in the loopback fakes (devkit/): an installed carebot has no devkit, and
an admin trying a new account wants to know that THIS server accepts pushes for it.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import aiohttp

from bot.channels.signed_push import sha1_signature
from bot.channels.weibo.inbound import MAX_REPLY_CHARS

DEFAULT_ACCOUNT = 1902538057  # receiver_id when the account has no uid set
BEIJING = timezone(timedelta(hours=8))
TIMEOUT = 5.0  # Weibo gives up after 5 s


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer
    body: str
    text: str | None = None  # the passive reply; None: acknowledged only
    error: str = ""  # why Weibo would refuse the answer


def message(text: str, sender_id: int, receiver_id: int, mention: bool = False) -> dict[str, Any]:
    """A text push, or a public post that @mentions the account."""
    created = datetime.now(BEIJING).strftime("%a %b %d %H:%M:%S %z %Y")
    return {"type": "mention" if mention else "text", "receiver_id": receiver_id, "sender_id": sender_id,
            "created_at": created, "text": text,
            "data": {"mid": str(random.randrange(10**15, 10**16))} if mention else {}}


def read_reply(push: dict[str, Any], status: int, body: str) -> Answer:
    """The passive reply's text, or why Weibo would refuse it."""
    if status != 200:
        return Answer(status, body, error=f"HTTP {status}")
    if not body.strip():
        return Answer(status, body)
    try:
        reply = json.loads(body)
        text = json.loads(unquote(reply["data"]))["text"]
    except (ValueError, KeyError, TypeError) as exc:
        return Answer(status, body, error=f"reply is not Weibo's JSON with URL-encoded data: {type(exc).__name__}")
    if reply.get("result") is not True or reply.get("type") != "text" or not isinstance(text, str):
        return Answer(status, body, error="reply is not a text reply with result true")
    if (reply.get("sender_id"), reply.get("receiver_id")) != (str(push["receiver_id"]), str(push["sender_id"])):
        return Answer(status, body, error="reply does not go from the account to the fan")
    if len(text) > MAX_REPLY_CHARS:
        return Answer(status, body, error=f"reply text is {len(text)} characters (at most {MAX_REPLY_CHARS})")
    return Answer(status, body, text)


async def push(url: str, app_secret: str, push_message: dict[str, Any]) -> Answer:
    """POST the push, signed with the app secret, to the webhook at `url` and read the answer."""
    timestamp, nonce = str(int(time.time())), str(random.randrange(10**8, 10**10))
    query = {"signature": sha1_signature(app_secret, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
            async with session.post(url, params=query, data=json.dumps(push_message, ensure_ascii=False).encode(),
                                    headers={"Content-Type": "application/json"}) as response:
                return read_reply(push_message, response.status, (await response.read()).decode("utf-8", "replace"))
    except asyncio.TimeoutError:
        return Answer(None, "", error=f"no answer within {TIMEOUT} s")
    except aiohttp.ClientConnectionError as exc:
        return Answer(None, "", error=f"connection failed: {exc}")
