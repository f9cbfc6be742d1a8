"""The WeChat fakes themselves, checked against protocols.md, so that webhook and outbox
tests built on them test carebot and not a wrong fake."""
from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import AsyncIterator
from typing import Any
from xml.parsers.expat import ExpatError

import aiohttp
import pytest
import pytest_asyncio
import xmltodict
from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from devkit import wechat_push as wp
from devkit import wechat_xml as wxml
from devkit.wechat_api import FakeWeChatState, start_fake_wechat_api

TOKEN = "testtoken"
APPID = "wx1234567890abcdef"
AES_KEY = wp.new_aes_key(random.Random(7))
SECRET = "s3cret"
OPENID = "oUSER000000000000000000001"


def test_signature_test_vector() -> None:
    expected = "30d7c91db269b3e0cb3e1a131646b6d1ae4750f5"
    assert wp.signature("testtoken", "1409304348", "xxxxxx") == expected
    check_signature("testtoken", expected, "1409304348", "xxxxxx")  # wechatpy agrees


def test_aes_key_shape() -> None:
    key = wp.new_aes_key()
    assert len(key) == 43 and not key.endswith("=")
    assert len(base64.b64decode(key + "=")) == 32
    assert wp.new_aes_key(random.Random(1)) == wp.new_aes_key(random.Random(1))


# --- a tiny webhook that does what carebot's must, with wechatpy ---

@pytest_asyncio.fixture
async def echo_webhook() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        q = request.query
        try:
            check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])
        except (KeyError, InvalidSignatureException):
            return web.Response(status=403, text="bad signature")
        if request.method == "GET":
            return web.Response(text=q["echostr"])
        body = await request.read()
        seen.append({"query": dict(q), "body": body.decode()})
        crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
        aes = q.get("encrypt_type") == "aes"
        xml = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"]) if aes else body
        msg = parse_message(xml)
        if msg.type != "text":
            return web.Response(text="success")
        # wechatpy does not escape "]]>" inside CDATA: split it, as carebot must.
        content = f"echo: {msg.content}".replace("]]>", "]]]]><![CDATA[>")
        reply = TextReply(content=content, message=msg).render()
        if aes:
            reply = crypto.encrypt_message(reply, q["nonce"], q["timestamp"])
        return web.Response(text=reply, content_type="application/xml")

    app = web.Application()
    app.router.add_route("*", "/webhooks/wechat/test", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/webhooks/wechat/test", seen
    await runner.cleanup()


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_push_round_trip(echo_webhook: tuple[str, list[dict[str, Any]]], mode: str) -> None:
    url, seen = echo_webhook
    text = "我要退款 ]]> <b>&amp;"
    result = await wp.push(url, TOKEN, wxml.text_xml(text, openid=OPENID), mode=mode,
                           aes_key=AES_KEY, appid=APPID)
    assert result.ok, result
    assert result.encrypted == (mode != "plain")
    assert result.reply is not None
    assert result.reply["MsgType"] == "text"
    assert result.reply["Content"] == f"echo: {text}"
    assert result.reply["ToUserName"] == OPENID
    assert result.reply["FromUserName"] == wxml.DEFAULT_ACCOUNT
    assert result.warnings == []

    query, body = seen[-1]["query"], xmltodict.parse(seen[-1]["body"])["xml"]
    assert query["openid"] == OPENID
    if mode == "plain":
        assert "encrypt_type" not in query and body["Content"] == text
    else:
        assert query["encrypt_type"] == "aes"
        assert query["msg_signature"] == wp.msg_signature(TOKEN, query["timestamp"], query["nonce"],
                                                          body["Encrypt"])
        expected = {"ToUserName", "Encrypt"} if mode == "safe" else \
            {"ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Encrypt"}
        assert set(body) == expected


async def test_push_event_is_acknowledged(echo_webhook: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = echo_webhook
    result = await wp.push(url, TOKEN, wxml.click_xml("MENU_HELP"), mode="safe", aes_key=AES_KEY, appid=APPID)
    assert result.ok and result.acknowledged_without_reply


async def test_verify_url(echo_webhook: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = echo_webhook
    assert (await wp.verify_url(url, TOKEN, "1234567890123456")).ok_for("1234567890123456")
    bad = await wp.verify_url(url, TOKEN, "1234567890123456", bad_signature=True)
    assert bad.status == 403 and not bad.ok_for("1234567890123456")
    assert (await wp.send_prepared(wp.wrong_signature(
        wp.prepare_push(url, TOKEN, wxml.text_xml("x"))))).status == 403


def test_reply_judged_like_wechat() -> None:
    prepared = wp.prepare_push("http://x/", TOKEN, wxml.text_xml("hi", openid=OPENID), mode="safe",
                               aes_key=AES_KEY, appid=APPID)
    plain = TextReply(content="hi", source=wxml.DEFAULT_ACCOUNT, target=OPENID).render()
    assert wp.read_reply(prepared, 200, plain).error == "plaintext reply in safe mode"
    good = WeChatCrypto(TOKEN, AES_KEY, APPID).encrypt_message(plain, "123", "1700000000")
    assert wp.read_reply(prepared, 200, good).reply["Content"] == "hi"
    tampered = good.replace("<TimeStamp>1700000000", "<TimeStamp>1700000001")
    assert wp.read_reply(prepared, 200, tampered).error == "reply MsgSignature does not match"
    foreign = WeChatCrypto(TOKEN, AES_KEY, "wx_other").encrypt_message(plain, "123", "1700000000")
    assert wp.read_reply(prepared, 200, foreign).error == "reply encrypted for another appid"
    assert wp.read_reply(prepared, 200, "success").acknowledged_without_reply
    assert wp.read_reply(prepared, 200, "hello").error.startswith("reply is not XML")
    assert not wp.read_reply(prepared, 500, "").ok
    unsplit = TextReply(content="a]]>b", source=wxml.DEFAULT_ACCOUNT, target=OPENID).render()
    encrypted = WeChatCrypto(TOKEN, AES_KEY, APPID).encrypt_message(unsplit, "1", "1700000000")
    assert "not well-formed" in wp.read_reply(prepared, 200, encrypted).error  # wechatpy's CDATA bug


def test_inbound_builders_parse_with_wechatpy() -> None:
    text = parse_message(wxml.text_xml("你好", create_time=1348831860))
    assert (text.type, text.content, text.source, text.target) == ("text", "你好", wxml.DEFAULT_OPENID,
                                                                    wxml.DEFAULT_ACCOUNT)
    assert 0 < text.id < 2**64 and text.create_time.timestamp() == 1348831860
    assert parse_message(wxml.image_xml()).type == "image"
    assert parse_message(wxml.voice_xml(recognition="退款")).recognition == "退款"
    assert "Recognition" not in wxml.voice_xml() and parse_message(wxml.voice_xml()).recognition is None
    assert parse_message(wxml.video_xml()).type == "video"
    assert parse_message(wxml.video_xml(short=True)).type == "shortvideo"
    location = parse_message(wxml.location_xml())
    assert location.type == "location" and location.label == "位置信息"
    assert parse_message(wxml.link_xml()).url == "https://mp.weixin.qq.com/"
    events = {
        "subscribe": wxml.subscribe_xml(), "subscribe_scan": wxml.subscribe_xml("42"),
        "unsubscribe": wxml.unsubscribe_xml(), "click": wxml.click_xml("K"), "scan": wxml.scan_xml("42"),
        "view": wxml.view_xml(), "location": wxml.location_event_xml(),
    }
    for kind, xml in events.items():
        event = parse_message(xml)
        assert (event.type, event.event, event.id) == ("event", kind, 0), kind
        assert "<MsgId>" not in xml
    assert parse_message(events["subscribe_scan"]).scene_id == "42"
    assert parse_message(events["click"]).key == "K"


def test_bad_requests_are_what_they_claim() -> None:
    def inner(p: wp.PreparedPush) -> str:
        body = p.body.decode()
        if p.mode == "plain":
            return body
        return WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(
            body, p.params["msg_signature"], p.params["timestamp"], p.params["nonce"])

    cases = wp.bad_requests("http://x/", TOKEN, mode="safe", aes_key=AES_KEY, appid=APPID, oversize=100_000)
    for name in ("billion_laughs", "xxe"):
        with pytest.raises(ValueError):
            xmltodict.parse(inner(cases[name]))
    assert isinstance(xmltodict.parse(inner(cases["duplicate_content"]))["xml"]["Content"], list)
    assert isinstance(xmltodict.parse(inner(cases["nested_content"]))["xml"]["Content"], dict)
    with pytest.raises(ExpatError):
        xmltodict.parse(inner(cases["malformed_xml"]))
    assert len(inner(cases["oversize_body"]).encode()) >= 100_000
    with pytest.raises(InvalidAppIdException):
        inner(cases["foreign_appid"])
    with pytest.raises(InvalidSignatureException):
        inner(cases["wrong_msg_signature"])
    bad = cases["wrong_signature"].params
    with pytest.raises(InvalidSignatureException):
        check_signature(TOKEN, bad["signature"], bad["timestamp"], bad["nonce"])
    assert "signature" not in cases["missing_signature"].params
    assert set(wp.bad_requests("http://x/", TOKEN)) < set(cases)


# --- the API fake ---

Api = tuple[aiohttp.ClientSession, str, FakeWeChatState]


@pytest_asyncio.fixture
async def api() -> AsyncIterator[Api]:
    runner, base, state = await start_fake_wechat_api(state=FakeWeChatState(apps={APPID: SECRET}))
    async with aiohttp.ClientSession() as session:
        yield session, base, state
    await runner.cleanup()


async def fetch_token(api: Api, secret: str = SECRET) -> dict[str, Any]:
    session, base, _ = api
    params = {"grant_type": "client_credential", "appid": APPID, "secret": secret}
    async with session.get(f"{base}/cgi-bin/token", params=params) as response:
        assert response.status == 200
        return await response.json()


async def send(api: Api, token: str, content: str = "您好", openid: str = OPENID,
               timeout: float = 5.0) -> dict[str, Any]:
    session, base, _ = api
    body = json.dumps({"touser": openid, "msgtype": "text", "text": {"content": content}},
                      ensure_ascii=False).encode()
    async with session.post(f"{base}/cgi-bin/message/custom/send", params={"access_token": token},
                            data=body, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        assert response.status == 200
        return await response.json()


async def test_token_fetch_and_invalidation(api: Api) -> None:
    state = api[2]
    state.user_message(OPENID)
    first = await fetch_token(api)
    assert first["expires_in"] == 7200 and first["access_token"]
    assert (await send(api, first["access_token"]))["errcode"] == 0
    second = await fetch_token(api)
    assert state.fetch_count(APPID) == 2
    assert (await send(api, first["access_token"]))["errcode"] == 40001
    assert await send(api, second["access_token"]) == {"errcode": 0, "errmsg": "ok"}
    assert (await send(api, "not-a-token"))["errcode"] == 40001
    assert (await fetch_token(api, "wrong"))["errcode"] == 40001
    state.advance(7200)
    assert (await send(api, second["access_token"]))["errcode"] == 42001


async def test_token_grace(api: Api) -> None:
    state = api[2]
    state.configure(token_grace=300)
    state.user_message(OPENID)
    first = (await fetch_token(api))["access_token"]
    await fetch_token(api)
    assert (await send(api, first))["errcode"] == 0
    state.advance(301)
    assert (await send(api, first))["errcode"] == 40001


async def test_window_rules(api: Api) -> None:
    state = api[2]
    token = (await fetch_token(api))["access_token"]
    assert (await send(api, token, openid="oNOBODY"))["errcode"] == 40003
    state.user_message(OPENID)
    assert [(await send(api, token, f"m{i}"))["errcode"] for i in range(6)] == [0] * 5 + [45047]
    assert state.messages_to(OPENID) == [f"m{i}" for i in range(5)]
    assert state.delivered[0].appid == APPID
    state.user_message(OPENID, at=state.now() - 48 * 3600 - 1)  # last message 48 h ago
    assert (await send(api, token))["errcode"] == 45015
    state.user_message(OPENID)
    state.advance(48 * 3600 - 1)
    token = (await fetch_token(api))["access_token"]  # the old one expired meanwhile
    assert (await send(api, token))["errcode"] == 0
    state.advance(2)
    assert (await send(api, token))["errcode"] == 45015

    state.user_event(OPENID, "click")
    assert [(await send(api, token))["errcode"] for _ in range(4)] == [0, 0, 0, 45047]
    state.user_event(OPENID, "scan")
    state.advance(61)
    assert (await send(api, token))["errcode"] == 45015

    state.user_message(OPENID)
    state.set_unsubscribed(OPENID)
    assert (await send(api, token))["errcode"] == 45015
    state.user_event(OPENID, "subscribe")
    state.set_blacklisted(OPENID)
    assert (await send(api, token))["errcode"] == 43019


async def test_content_limit_and_escapes(api: Api) -> None:
    state = api[2]
    token = (await fetch_token(api))["access_token"]
    state.user_message(OPENID)
    assert (await send(api, token, "好" * 682 + "ab"))["errcode"] == 0  # 2048 bytes
    assert (await send(api, token, "好" * 683))["errcode"] == 45002  # 2049 bytes
    session, base, _ = api
    escaped = json.dumps({"touser": OPENID, "msgtype": "text", "text": {"content": "你好"}})
    async with session.post(f"{base}/cgi-bin/message/custom/send", params={"access_token": token},
                            data=escaped) as response:
        assert (await response.json())["errcode"] == 0
    assert state.delivered[-1].content == "\\u4f60\\u597d" and state.delivered[-1].escaped


async def test_failure_injection(api: Api) -> None:
    session, base, state = api
    token = (await fetch_token(api))["access_token"]
    state.user_message(OPENID)
    state.set_fail_share(1.0)
    assert await send(api, token) == {"errcode": -1, "errmsg": "system error"}
    state.set_fail_share(0.0)
    state.force_errcode(48001, count=2)
    assert [(await send(api, token))["errcode"] for _ in range(3)] == [48001, 48001, 0]
    async with session.post(f"{base}/__fake__/config",
                            json={"http_500_share": 1.0, "force": {"errcode": 45015}}) as response:
        assert response.status == 200
    async with session.post(f"{base}/cgi-bin/message/custom/send", params={"access_token": token},
                            data=b"{}") as response:
        assert response.status == 500
    state.configure(http_500_share=0.0)
    assert (await send(api, token))["errcode"] == 45015
    async with session.post(f"{base}/__fake__/config", json={"no_such_knob": 1}) as response:
        assert response.status == 400
    assert len(state.delivered) == 1


async def test_delay_makes_client_time_out(api: Api) -> None:
    state = api[2]
    token = (await fetch_token(api))["access_token"]
    state.user_message(OPENID)
    state.set_delay(0.5)
    with pytest.raises(asyncio.TimeoutError):
        await send(api, token, "lost", timeout=0.1)
    await asyncio.sleep(0.1)
    assert state.delivered == []  # the dropped request was never processed
    state.set_delay(0.3, deliver_before=True)
    with pytest.raises(asyncio.TimeoutError):
        await send(api, token, "arrived", timeout=0.1)
    assert state.messages_to(OPENID) == ["arrived"]  # a retry would duplicate it
    state.set_delay(0)
    assert (await send(api, token))["errcode"] == 0

