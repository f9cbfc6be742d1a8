"""A simulated WeChat server: it pushes messages to a webhook the way WeChat does.

Why: carebot's WeChat webhook must be tested against WeChat's exact signing and
encryption (protocols.md, "Verification and signatures"), in all three modes, and against
hostile requests. This module takes inbound XML (devkit/wechat_xml.py), signs and (in compat/safe mode)
encrypts it with wechatpy's `WeChatCrypto`, posts it with WeChat's query parameters, and
checks and decrypts the reply as WeChat would.

Typical use::

    result = await push(url, TOKEN, wechat_xml.text_xml("我要退款"), mode="safe", aes_key=KEY, appid=APPID)
    assert result.ok and result.reply["Content"] == "..."

Not documented, so chosen here: retries (``attempts``) resend the identical request;
a plaintext reply is accepted in compat mode (only safe mode requires encryption).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from xml.parsers.expat import ExpatError

import aiohttp
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from devkit.loopback import PreparedRequest
from devkit.wechat_xml import (DEFAULT_ACCOUNT, DEFAULT_OPENID, billion_laughs_xml, cdata, click_xml,
                               duplicate_content_xml, malformed_xml, nested_content_xml, oversize_xml, scan_xml,
                               subscribe_xml, text_xml, unsubscribe_xml, view_xml, xxe_xml)

MODES = ("plain", "compat", "safe")
PASSIVE_REPLY_MAX_BYTES = 2048  # "about 2048": exceeding it is a warning, not an error
_RNG = random.Random()


def new_aes_key(rng: random.Random | None = None) -> str:
    """A valid EncodingAESKey: 43 characters, base64 of 32 bytes without the trailing '='."""
    raw = os.urandom(32) if rng is None else bytes(rng.getrandbits(8) for _ in range(32))
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def signature(token: str, timestamp: str, nonce: str) -> str:
    """The `signature` query parameter: sha1 of the sorted, joined token/timestamp/nonce."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8")).hexdigest()


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """The `msg_signature` query parameter (and a reply's MsgSignature)."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode("utf-8")).hexdigest()


def _nonce() -> str:
    return str(_RNG.randrange(10**8, 10**10))


@dataclass(frozen=True)
class PreparedPush(PreparedRequest):
    """One signed request, ready to send; tamper with it through the `with_*` methods."""

    mode: str
    token: str
    aes_key: str | None = None
    appid: str | None = None
    openid: str = DEFAULT_OPENID
    account: str = DEFAULT_ACCOUNT
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/xml"})


def _field(xml: str, name: str) -> str | None:
    # Regex, not a parser: these bodies may be deliberately broken.
    match = re.search(rf"<{name}>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</{name}>", xml, re.S)
    return None if match is None else (match.group(1) if match.group(1) is not None else match.group(2))


def _encrypt(token: str, aes_key: str, appid: str, xml: str, nonce: str, timestamp: str) -> str:
    """The Encrypt value WeChat would put in the body, made with wechatpy's WeChatCrypto."""
    wrapped = WeChatCrypto(token, aes_key, appid).encrypt_message(xml, nonce, timestamp)
    return xmltodict.parse(wrapped)["xml"]["Encrypt"]


def prepare_push(url: str, token: str, xml: str, *, mode: str = "plain", aes_key: str | None = None,
                 appid: str | None = None, timestamp: str | int | None = None,
                 nonce: str | None = None, openid: str | None = None,
                 encrypt_appid: str | None = None) -> PreparedPush:
    """Sign (and encrypt) `xml` as WeChat would. `encrypt_appid` encrypts for another app
    with otherwise valid signatures, to test that the webhook checks the trailing appid."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or _nonce()
    openid = openid or _field(xml, "FromUserName") or DEFAULT_OPENID
    account = _field(xml, "ToUserName") or DEFAULT_ACCOUNT
    params = {"signature": signature(token, timestamp, nonce), "timestamp": timestamp,
              "nonce": nonce, "openid": openid}
    if mode == "plain":
        body = xml
    else:
        if not aes_key or not appid:
            raise ValueError(f"mode {mode!r} needs aes_key and appid")
        encrypt = _encrypt(token, aes_key, encrypt_appid or appid, xml, nonce, timestamp)
        params.update(encrypt_type="aes", msg_signature=msg_signature(token, timestamp, nonce, encrypt))
        element = f"<Encrypt>{cdata(encrypt)}</Encrypt>"
        if mode == "safe":
            body = f"<xml><ToUserName>{cdata(account)}</ToUserName>{element}</xml>"
        elif xml.rstrip().endswith("</xml>"):
            cut = xml.rstrip().rfind("</xml>")
            body = xml[:cut] + element + "</xml>"
        else:
            body = xml + element
    return PreparedPush(url, params, body.encode("utf-8"), mode, token, aes_key, appid, openid, account)


@dataclass
class PushResult:
    """What WeChat got back. `ok`: WeChat accepts the answer (an acknowledgement or a valid
    reply); otherwise `error` says why the user would see "该公众号暂时无法提供服务"."""

    status: int | None  # None when no attempt got an answer in time
    body: str
    reply: dict[str, Any] | None  # the (decrypted) reply's fields; None for success/empty
    encrypted: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    attempts: int = 1
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None

    @property
    def acknowledged_without_reply(self) -> bool:
        return self.ok and self.reply is None


def _parse_xml(text: str) -> dict[str, Any]:
    root = xmltodict.parse(text)
    if not isinstance(root, dict) or not isinstance(root.get("xml"), dict):
        raise ValueError("no <xml> root")
    return root["xml"]


def read_reply(prepared: PreparedPush, status: int, body: str) -> PushResult:
    """Judge a webhook's answer as WeChat does: verify, decrypt and parse the reply."""
    result = PushResult(status, body, None)
    if status != 200:
        result.error = f"HTTP {status}"
        return result
    stripped = body.strip()
    if stripped in ("", "success"):
        return result
    try:
        outer = _parse_xml(stripped)
    except (ExpatError, ValueError) as exc:
        result.error = f"reply is not XML: {exc}"
        return result
    inner = outer
    if "Encrypt" in outer:
        result.encrypted = True
        if prepared.mode == "plain":
            result.error = "encrypted reply to a plaintext push"
            return result
        assert prepared.aes_key and prepared.appid
        crypto = WeChatCrypto(prepared.token, prepared.aes_key, prepared.appid)
        try:
            plain = crypto.decrypt_message(outer, outer.get("MsgSignature"), outer.get("TimeStamp"),
                                           outer.get("Nonce"))
            inner = _parse_xml(plain)
        except InvalidSignatureException:
            result.error = "reply MsgSignature does not match"
            return result
        except InvalidAppIdException:
            result.error = "reply encrypted for another appid"
            return result
        except Exception as exc:  # any failure to decrypt is WeChat refusing the reply
            result.error = f"cannot decrypt reply: {type(exc).__name__}: {exc}"
            return result
    elif prepared.mode == "safe":
        result.error = "plaintext reply in safe mode"
        return result
    result.reply = inner
    if not isinstance(inner.get("MsgType"), str):
        result.error = "reply has no MsgType"
    if inner.get("ToUserName") != prepared.openid:
        result.warnings.append(f"reply ToUserName {inner.get('ToUserName')!r} is not the sender")
    if inner.get("FromUserName") != prepared.account:
        result.warnings.append(f"reply FromUserName {inner.get('FromUserName')!r} is not the account")
    content = inner.get("Content")
    if isinstance(content, str) and len(content.encode("utf-8")) > PASSIVE_REPLY_MAX_BYTES:
        result.warnings.append(f"reply Content is {len(content.encode('utf-8'))} bytes (> about 2048)")
    return result


async def send_prepared(prepared: PreparedPush, *, session: aiohttp.ClientSession | None = None,
                        timeout: float = 5.0, attempts: int = 1) -> PushResult:
    """POST a prepared push; on a timeout or refused connection try again (WeChat retries,
    3 attempts in all [unsure]; default here 1 so tests see each attempt)."""
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        last_error, timed_out = "no attempt made", False
        for attempt in range(1, attempts + 1):
            try:
                async with session.post(prepared.url, params=prepared.params, data=prepared.body,
                                        headers=prepared.headers,
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                    body = (await response.read()).decode("utf-8", errors="replace")
                    result = read_reply(prepared, response.status, body)
                    result.attempts = attempt
                    return result
            except asyncio.TimeoutError:
                last_error, timed_out = f"no answer within {timeout} s", True
            except aiohttp.ClientConnectionError as exc:
                last_error, timed_out = f"connection failed: {exc}", False
        return PushResult(None, "", None, error=last_error, attempts=attempts, timed_out=timed_out)
    finally:
        if own:
            await session.close()


async def push(url: str, token: str, xml: str, *, mode: str = "plain", aes_key: str | None = None,
               appid: str | None = None, session: aiohttp.ClientSession | None = None,
               timestamp: str | int | None = None, nonce: str | None = None,
               openid: str | None = None, timeout: float = 5.0, attempts: int = 1) -> PushResult:
    """Push `xml` to the webhook at `url` as WeChat would, in `mode`, and judge the reply.
    `openid` defaults to the message's FromUserName."""
    prepared = prepare_push(url, token, xml, mode=mode, aes_key=aes_key, appid=appid,
                            timestamp=timestamp, nonce=nonce, openid=openid)
    return await send_prepared(prepared, session=session, timeout=timeout, attempts=attempts)


@dataclass
class VerifyResult:
    status: int | None
    body: str

    def ok_for(self, echostr: str) -> bool:
        return self.status == 200 and self.body == echostr


async def verify_url(url: str, token: str, echostr: str | None = None, *,
                     session: aiohttp.ClientSession | None = None, timestamp: str | int | None = None,
                     nonce: str | None = None, bad_signature: bool = False,
                     timeout: float = 5.0) -> VerifyResult:
    """WeChat's server URL check: GET with signature/timestamp/nonce/echostr; the webhook
    passes when it answers the echostr as plain text (`result.ok_for(echostr)`)."""
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or _nonce()
    echostr = echostr or str(_RNG.randrange(10**17, 10**19))
    sig = signature(token, timestamp, nonce)
    if bad_signature:
        sig = _flip(sig)
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        async with session.get(url, params={"signature": sig, "timestamp": timestamp, "nonce": nonce,
                                            "echostr": echostr},
                               timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            return VerifyResult(response.status, (await response.read()).decode("utf-8", errors="replace"))
    except asyncio.TimeoutError:
        return VerifyResult(None, "")
    finally:
        if own:
            await session.close()


def _flip(hexdigest: str) -> str:
    return hexdigest[:-1] + ("0" if hexdigest[-1] != "0" else "1")


def wrong_signature(prepared: PreparedPush) -> PreparedPush:
    """Same request with a `signature` that does not match."""
    return prepared.with_params(signature=_flip(prepared.params["signature"]))


def wrong_msg_signature(prepared: PreparedPush) -> PreparedPush:
    """Same encrypted request with a `msg_signature` that does not match."""
    return prepared.with_params(msg_signature=_flip(prepared.params["msg_signature"]))


def bad_requests(url: str, token: str, *, mode: str = "plain", aes_key: str | None = None,
                 appid: str | None = None, openid: str = DEFAULT_OPENID,
                 account: str = DEFAULT_ACCOUNT, oversize: int = 1_000_000) -> dict[str, PreparedPush]:
    """Named hostile requests for `mode`, each to be refused without a crash or a reply.

    Signatures are valid unless the name says otherwise, so the XML checks are what is
    tested: in compat/safe mode the bad XML is inside the (correctly) encrypted payload."""
    who = {"openid": openid, "account": account}

    def prep(xml: str, **extra: Any) -> PreparedPush:
        return prepare_push(url, token, xml, mode=mode, aes_key=aes_key, appid=appid, **extra)

    good = prep(text_xml("hello", **who))
    cases = {
        "wrong_signature": wrong_signature(good),
        "missing_signature": good.without("signature"),
        "oversize_body": prep(oversize_xml(oversize, **who)),
        "billion_laughs": prep(billion_laughs_xml(**who)),
        "xxe": prep(xxe_xml(**who)),
        "duplicate_content": prep(duplicate_content_xml(**who)),
        "nested_content": prep(nested_content_xml(**who)),
        "malformed_xml": prep(malformed_xml(**who)),
        "empty_body": good.with_body(b""),
    }
    if mode != "plain":
        cases["wrong_msg_signature"] = wrong_msg_signature(good)
        cases["foreign_appid"] = prep(text_xml("hello", **who), encrypt_appid="wx_not_this_account")
    return cases


def main(argv: list[str] | None = None) -> int:
    """Push one message to a webhook and print the (decrypted) reply."""
    parser = argparse.ArgumentParser(prog="python -m devkit.wechat_push", description=main.__doc__)
    parser.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8080/webhooks/wechat/SLUG")
    parser.add_argument("--token", required=True)
    parser.add_argument("--aes-key")
    parser.add_argument("--appid")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--safe", action="store_const", const="safe", dest="mode")
    group.add_argument("--compat", action="store_const", const="compat", dest="mode")
    parser.add_argument("--openid", default=DEFAULT_OPENID)
    parser.add_argument("--account", default=DEFAULT_ACCOUNT, help="the account's gh_ id")
    parser.add_argument("--event", choices=["subscribe", "unsubscribe", "click", "scan", "view"],
                        help="push an event instead of a text message")
    parser.add_argument("--key", help="EventKey (click key, QR scene or VIEW url)")
    parser.add_argument("--verify", metavar="ECHOSTR", help="do the GET URL check instead")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("text", nargs="?", default="")
    args = parser.parse_args(argv)
    mode = args.mode or "plain"
    if mode != "plain" and not (args.aes_key and args.appid):
        parser.error("--safe/--compat need --aes-key and --appid")

    async def run() -> int:
        if args.verify:
            check = await verify_url(args.url, args.token, args.verify, timeout=args.timeout)
            print(f"HTTP {check.status}: {check.body!r} -> {'ok' if check.ok_for(args.verify) else 'FAILED'}")
            return 0 if check.ok_for(args.verify) else 1
        who = {"openid": args.openid, "account": args.account}
        builders = {
            "subscribe": lambda: subscribe_xml(args.key, **who),
            "unsubscribe": lambda: unsubscribe_xml(**who),
            "click": lambda: click_xml(args.key or "MENU_KEY", **who),
            "scan": lambda: scan_xml(args.key or "123", **who),
            "view": lambda: view_xml(args.key or "https://example.com/", **who),
        }
        xml = builders[args.event]() if args.event else text_xml(args.text, **who)
        result = await push(args.url, args.token, xml, mode=mode, aes_key=args.aes_key,
                            appid=args.appid, timeout=args.timeout)
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if not result.ok:
            print(f"error: {result.error} (HTTP {result.status}) {result.body[:500]!r}", file=sys.stderr)
            return 1
        if result.reply is None:
            print("(acknowledged, no reply)")
        elif result.reply.get("MsgType") == "text":
            print(result.reply.get("Content", ""))
        else:
            print(json.dumps(result.reply, ensure_ascii=False, indent=2))
        return 0

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
