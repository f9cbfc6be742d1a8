"""A simulated Weibo fan-service platform: it pushes to a webhook the way Weibo does.

Why: carebot's Weibo webhook must be tested against Weibo's signing and JSON pushes
(protocols.md, "Weibo fan-service platform") and against hostile requests. This module
builds pushes (ids as JSON numbers, as Weibo sends them), signs them with the app secret
(`signature = sha1(sorted(app_secret, timestamp, nonce))`), posts them, and judges the
reply as Weibo would: an empty body acknowledges; otherwise a JSON object with
`result: true`, the right sender and receiver, and `data` as URL-encoded JSON whose text
is at most 300 characters.

    result = await push(url, APP_SECRET, text_push("我要退款"))
    assert result.ok and result.reply["text"] == "..."
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import aiohttp

from devkit.loopback import PreparedRequest
from devkit.wechat_push import signature  # the same sorted-SHA1 scheme, with the app secret

DEFAULT_FAN = 2489518277
DEFAULT_ACCOUNT = 1902538057
MAX_REPLY_CHARS = 300
BEIJING = timezone(timedelta(hours=8))
_RNG = random.Random()


def created_at(at: float | None = None) -> str:
    """Weibo's time format: `Mon Jul 16 18:09:20 +0800 2012`."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, BEIJING)
    return moment.strftime("%a %b %d %H:%M:%S %z %Y")


def message(push_type: str, text: str = "", data: dict[str, Any] | None = None, *,
            sender_id: int | str = DEFAULT_FAN, receiver_id: int | str = DEFAULT_ACCOUNT,
            at: float | None = None) -> dict[str, Any]:
    """Any push; ids are JSON numbers unless given as strings."""
    return {"type": push_type, "receiver_id": receiver_id, "sender_id": sender_id,
            "created_at": created_at(at), "text": text, "data": data or {}}


def text_push(text: str, **common: Any) -> dict[str, Any]:
    return message("text", text, **common)


def mention_push(text: str, mid: str = "3487621513454651", **common: Any) -> dict[str, Any]:
    """A public post that @mentions the account (the post's id in `data.mid`)."""
    return message("mention", text, {"mid": mid}, **common)


def position_push(longitude: float = 116.397, latitude: float = 39.916, **common: Any) -> dict[str, Any]:
    return message("position", "", {"longitude": longitude, "latitude": latitude}, **common)


def image_push(vfid: int = 821804459, tovfid: int = 821804460, **common: Any) -> dict[str, Any]:
    return message("image", "", {"vfid": vfid, "tovfid": tovfid}, **common)


def voice_push(vfid: int = 821804461, tovfid: int = 821804462, **common: Any) -> dict[str, Any]:
    return message("voice", "", {"vfid": vfid, "tovfid": tovfid}, **common)


def event_push(subtype: str, key: str | None = None, ticket: str | None = None, **common: Any) -> dict[str, Any]:
    """follow, unfollow, subscribe, unsubscribe, scan, scan_follow, click, view."""
    data: dict[str, Any] = {"subtype": subtype}
    if key is not None:
        data["key"] = key
    if ticket is not None:
        data["ticket"] = ticket
    return message("event", "", data, **common)


@dataclass(frozen=True)
class PreparedPush(PreparedRequest):
    """One signed request, ready to send; tamper with it through the `with_*` methods."""

    sender_id: str
    receiver_id: str
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


def prepare_push(url: str, app_secret: str, push_message: dict[str, Any], *,
                 timestamp: str | int | None = None, nonce: str | None = None) -> PreparedPush:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or str(_RNG.randrange(10**8, 10**10))
    params = {"signature": signature(app_secret, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    body = json.dumps(push_message, ensure_ascii=False).encode("utf-8")
    return PreparedPush(url, params, body, str(push_message.get("sender_id")),
                        str(push_message.get("receiver_id")))


@dataclass
class PushResult:
    """What Weibo got back. `ok`: Weibo accepts the answer (empty body, or a valid reply)."""

    status: int | None
    body: str
    reply: dict[str, Any] | None  # {"text", "sender_id", "receiver_id", "type"}; None: acknowledged only
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


def read_reply(prepared: PreparedPush, status: int, body: str) -> PushResult:
    """Judge a webhook's answer as Weibo does."""
    result = PushResult(status, body, None)
    if status != 200:
        result.error = f"HTTP {status}"
        return result
    if not body.strip():
        return result
    try:
        reply = json.loads(body)
        data = json.loads(unquote(reply["data"]))
    except (ValueError, KeyError, TypeError) as exc:
        result.error = f"reply is not Weibo's JSON with URL-encoded data: {type(exc).__name__}"
        return result
    if "%" not in reply["data"] and "{" in reply["data"]:
        result.error = "reply data is plain JSON, not URL-encoded"
    elif reply.get("result") is not True:
        result.error = "reply result is not true"
    elif reply.get("type") != "text" or not isinstance(data.get("text"), str):
        result.error = "reply is not a text reply"
    elif reply.get("sender_id") != prepared.receiver_id or reply.get("receiver_id") != prepared.sender_id:
        result.error = (f"reply goes from {reply.get('sender_id')!r} to {reply.get('receiver_id')!r}, "
                        f"not from the account {prepared.receiver_id} to the fan {prepared.sender_id}")
    elif len(data["text"]) > MAX_REPLY_CHARS:
        result.error = f"reply text is {len(data['text'])} characters (at most {MAX_REPLY_CHARS})"
    result.reply = {**{k: reply.get(k) for k in ("sender_id", "receiver_id", "type")}, "text": data.get("text")}
    return result


async def send_prepared(prepared: PreparedPush, *, session: aiohttp.ClientSession | None = None,
                        timeout: float = 5.0) -> PushResult:
    """POST a prepared push (Weibo gives up after 5 s)."""
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        async with session.post(prepared.url, params=prepared.params, data=prepared.body, headers=prepared.headers,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            return read_reply(prepared, response.status, (await response.read()).decode("utf-8", "replace"))
    except asyncio.TimeoutError:
        return PushResult(None, "", None, error=f"no answer within {timeout} s")
    except aiohttp.ClientConnectionError as exc:
        return PushResult(None, "", None, error=f"connection failed: {exc}")
    finally:
        if own:
            await session.close()


async def push(url: str, app_secret: str, push_message: dict[str, Any], *,
               session: aiohttp.ClientSession | None = None, timeout: float = 5.0, **signing: Any) -> PushResult:
    """Push `push_message` to the webhook at `url` as Weibo would, and judge the reply."""
    return await send_prepared(prepare_push(url, app_secret, push_message, **signing), session=session,
                               timeout=timeout)


async def verify_url(url: str, app_secret: str, echostr: str, *, bad_signature: bool = False,
                     session: aiohttp.ClientSession | None = None) -> tuple[int, str]:
    """Weibo's server URL check: (status, body); passes when the body is `echostr`."""
    timestamp, nonce = str(int(time.time())), str(_RNG.randrange(10**8, 10**10))
    secret = app_secret + "-wrong" if bad_signature else app_secret
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        async with session.get(url, params={"signature": signature(secret, timestamp, nonce), "timestamp": timestamp,
                                            "nonce": nonce, "echostr": echostr}) as response:
            return response.status, await response.text()
    finally:
        if own:
            await session.close()


def bad_requests(url: str, app_secret: str, oversize: int = 100_000) -> dict[str, tuple[PreparedPush, int]]:
    """Named hostile requests and the status each must get; none may be stored or answered.
    Signatures are valid unless the name says otherwise, so the body checks are what is tested."""
    good = prepare_push(url, app_secret, text_push("hello"))
    stale = prepare_push(url, app_secret, text_push("hello"), timestamp=int(time.time()) - 3600)
    return {
        "wrong_signature": (prepare_push(url, app_secret + "-wrong", text_push("hello")), 403),
        "missing_signature": (good.without("signature"), 403),
        "stale_timestamp": (stale, 403),
        "oversize_body": (good.with_body(json.dumps(text_push("啊" * oversize))), 413),
        "malformed_json": (good.with_body(good.body[: len(good.body) // 2]), 400),
        "not_an_object": (good.with_body("[1, 2, 3]"), 400),
        "not_utf8": (good.with_body(b"\xff\xfe{}"), 400),
        "id_not_a_number": (good.with_body(json.dumps({**text_push("hi"), "sender_id": "abc"})), 400),
        "id_a_float": (good.with_body(json.dumps({**text_push("hi"), "sender_id": 2.5e9})), 400),
        "text_not_a_string": (good.with_body(json.dumps({**text_push("hi"), "text": ["a"]})), 400),
        "data_not_an_object": (good.with_body(json.dumps({**text_push("hi"), "data": [1]})), 400),
        "missing_type": (good.with_body(json.dumps({k: v for k, v in text_push("hi").items() if k != "type"})), 400),
        "empty_body": (good.with_body(b""), 400),
    }


def main(argv: list[str] | None = None) -> int:
    """Push one message (or event) to a webhook and print the reply."""
    parser = argparse.ArgumentParser(prog="python -m devkit.weibo_push", description=main.__doc__)
    parser.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8080/webhooks/weibo/SLUG")
    parser.add_argument("--app-secret", required=True)
    parser.add_argument("--sender", default=str(DEFAULT_FAN), help="the fan's uid")
    parser.add_argument("--receiver", default=str(DEFAULT_ACCOUNT), help="the account's uid")
    parser.add_argument("--mention", action="store_true", help="as a public @mention")
    parser.add_argument("--event", help="an event subtype instead of text (follow, click, ...)")
    parser.add_argument("--key", help="the event's key (a menu key)")
    parser.add_argument("text", nargs="?", default="")
    args = parser.parse_args(argv)
    ids = {"sender_id": int(args.sender), "receiver_id": int(args.receiver)}
    if args.event:
        body = event_push(args.event, args.key, **ids)
    else:
        body = (mention_push if args.mention else text_push)(args.text, **ids)
    result = asyncio.run(push(args.url, args.app_secret, body))
    if not result.ok:
        print(f"error: {result.error} {result.body[:300]!r}", file=sys.stderr)
        return 1
    print(result.reply["text"] if result.reply else "(acknowledged, no reply)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
