"""Unlucky and hostile pushes to both webhooks of one running app (real model, real database:
SQLite and PostgreSQL; only the platforms are fake): bodies split across TCP segments, bad
encodings and signatures, ids and fields that the columns cannot hold, and a property-based
fuzz. A push is answered or refused with a 4xx; a refused push stores nothing; nothing is a 5xx.

One app serves the whole module (the cases only add rows), so each check compares the
number of stored messages before and after its own push.
"""
import base64
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import aiohttp
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from devkit import wechat_push as wx
from devkit import wechat_xml as wxml
from devkit import weibo_push as wb
from devkit.loopback import PreparedRequest, send_in_two_segments
from devkit.wechat_api import FakeWeChatState, start_fake_wechat_api
from devkit.weibo_api import FakeWeiboState, start_fake_weibo_api
from bot.nlu.pool import NluPool
from bot.secret_box import seal
from bot.store import accounts
from bot.store.models import Customer, Message
from devkit.postgres import create_pg_database
from tests.conftest import make_settings
from tests.e2e import SECRET_KEY, Probe, serving

APPID, SECRET, TOKEN = "wx_hardening_0001", "app-secret-hardening", "hardeningToken01"
APP_SECRET, ACCESS_TOKEN, UID = "weibo-secret-hardening", "2.00hardeningToken", "1902538057"
QUESTION = "运费多少 满多少包邮"


@dataclass
class Hooks(Probe):
    base: str = ""
    aes_key: str = ""

    @property
    def wechat_url(self) -> str:
        return f"{self.base}/webhooks/wechat/wx"

    @property
    def weibo_url(self) -> str:
        return f"{self.base}/webhooks/weibo/wb"

    def wechat(self, xml: str, mode: str = "plain", openid: str | None = None) -> wx.PreparedPush:
        return wx.prepare_push(self.wechat_url, TOKEN, xml, mode=mode, aes_key=self.aes_key, appid=APPID,
                               openid=openid)

    def weibo(self, message: dict) -> wb.PreparedPush:
        return wb.prepare_push(self.weibo_url, APP_SECRET, message)

    async def stored(self) -> int:
        return await self.count(Message)


@pytest_asyncio.fixture(scope="module", params=["sqlite", "postgres"])
async def hooks(request: pytest.FixtureRequest, nlu_pool: NluPool,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hooks]:
    home = tmp_path_factory.mktemp("hooks")
    url = (f"sqlite+aiosqlite:///{home / 'carebot.sqlite3'}" if request.param == "sqlite"
           else await create_pg_database(request.getfixturevalue("postgres_server")))
    wechat_runner, wechat_base, wechat_api = await start_fake_wechat_api(state=FakeWeChatState(apps={APPID: SECRET}))
    weibo_runner, weibo_base, _ = await start_fake_weibo_api(state=FakeWeiboState(tokens={ACCESS_TOKEN: UID}))
    aes_key = wx.new_aes_key()
    settings_ = make_settings(home, url, CAREBOT_BUSINESS_HOURS="00:00-23:59", CAREBOT_WECHAT_API_BASE=wechat_base,
                              CAREBOT_WEIBO_API_BASE=weibo_base)

    async def add_accounts(session) -> None:
        await accounts.add(session, platform="wechat", slug="wx", name="WX", app_id=APPID,
                           sealed={"secret": seal(SECRET), "token": seal(TOKEN), "aes_key": seal(aes_key)})
        await accounts.add(session, platform="weibo", slug="wb", name="WB", app_id=UID,
                           sealed={"app_secret": seal(APP_SECRET), "access_token": seal(ACCESS_TOKEN)})

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CAREBOT_SECRET_KEY", SECRET_KEY)
        try:
            async with serving(nlu_pool, settings_, add_accounts) as (base, rt):
                yield Hooks(rt, base, aes_key)
        finally:
            await wechat_runner.cleanup()
            await weibo_runner.cleanup()


async def send(prepared: PreparedRequest, headers: dict[str, str], method: str = "POST") -> tuple[int, str]:
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        async with http.request(method, prepared.url, params=prepared.params, headers=headers,
                                data=prepared.body if method == "POST" else None) as response:
            return response.status, await response.text()


async def refused(hooks: Hooks, prepared: PreparedRequest, headers: dict[str, str], method: str = "POST") -> int:
    """The status of a push that must be refused; asserts that it stored nothing."""
    before = await hooks.stored()
    status, body = await send(prepared, headers, method)
    assert await hooks.stored() == before, (status, body)
    return status


# --- F1: a body in two TCP segments is read whole ---

@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("pause", [0.0, 0.2])
async def test_a_push_split_across_tcp_segments_is_read_whole(hooks: Hooks, chunked: bool, pause: float):
    def text(channel: str, padding: int = 0) -> str:  # each push its own text, also across the runs
        return f"{QUESTION} ({channel} {'chunked' if chunked else 'length'} {pause})" + "，谢谢" * padding

    short, long, weibo = text("wechat"), text("wechat safe", 230), text("weibo", 230)  # about 250 B, 2.3 KB
    pushes = [(hooks.wechat(wxml.text_xml(short, openid="oSplitShort")), wx.read_reply, short),
              (hooks.wechat(wxml.text_xml(long, openid="oSplitLong"), mode="safe"), wx.read_reply, long),
              (hooks.weibo(wb.text_push(weibo, sender_id=77, receiver_id=int(UID))), wb.read_reply, weibo)]
    for prepared, read_reply, text in pushes:
        status, body = await send_in_two_segments(prepared, prepared.headers, chunked=chunked, pause=pause)
        result = read_reply(prepared, status, body)
        assert result.ok and result.reply is not None, (prepared.url, status, body[:200])
        assert await hooks.count(Message, Message.direction == "in", Message.text == text) == 1  # stored whole


# --- F7: bad input that used to be a 500 ---

def _non_ascii_signature(prepared: PreparedRequest) -> PreparedRequest:
    return prepared.with_params(signature="签名" + prepared.params["signature"][2:])


def _forged_ciphertext(hooks: Hooks) -> wx.PreparedPush:
    """Validly signed, but the ciphertext is one random AES block: wechatpy's unpacking of the
    plaintext fails (struct.error)."""
    prepared = hooks.wechat(wxml.text_xml("hi"), mode="safe")
    encrypt = base64.b64encode(os.urandom(16)).decode()
    params = prepared.params
    return replace(prepared.with_params(msg_signature=wx.msg_signature(TOKEN, params["timestamp"], params["nonce"],
                                                                       encrypt)),
                   body=f"<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode())


def _weibo_body(hooks: Hooks, text: str) -> wb.PreparedPush:
    return hooks.weibo(wb.text_push("hi")).with_body(text)


DEEP = '{"type": "text", "sender_id": 1, "receiver_id": %s, "text": "hi", "data": {"x": %s}}' % (
    UID, "[" * 1000 + "]" * 1000)
GZIP = {"Content-Encoding": "gzip"}
BAD_INPUT = {  # name: (the request, extra headers, method, expected status)
    "wechat GET non-ASCII signature": (lambda h: _non_ascii_signature(h.wechat("")), {}, "GET", 403),
    "wechat POST non-ASCII signature": (lambda h: _non_ascii_signature(h.wechat(wxml.text_xml("hi"))), {}, "POST", 403),
    "weibo GET non-ASCII signature": (lambda h: _non_ascii_signature(h.weibo({})), {}, "GET", 403),
    "weibo POST non-ASCII signature": (lambda h: _non_ascii_signature(h.weibo(wb.text_push("hi"))), {}, "POST", 403),
    "wechat gzip claimed, not gzip": (lambda h: h.wechat(wxml.text_xml("hi")), GZIP, "POST", 415),
    "weibo gzip claimed, not gzip": (lambda h: h.weibo(wb.text_push("hi")), GZIP, "POST", 415),
    "wechat forged safe-mode ciphertext": (_forged_ciphertext, {}, "POST", 400),
    "weibo JSON nested 1,000 deep": (lambda h: _weibo_body(h, DEEP), {}, "POST", 400),
    "weibo JSON array nested 5,000 deep": (lambda h: _weibo_body(h, "[" * 5000 + "]" * 5000), {}, "POST", 400),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
async def test_bad_input_is_a_4xx_and_stores_nothing(hooks: Hooks, case: str):
    build, headers, method, expected = BAD_INPUT[case]
    prepared = build(hooks)
    assert await refused(hooks, prepared, {**prepared.headers, **headers}, method) == expected


# --- F8: values the columns cannot hold are refused at the edge ---

def _wechat_text(**fields: str | int) -> str:
    return wxml.text_xml("hi", **fields)


INVALID = {  # name: a push body builder; each must be 400
    "MsgId superscript digits": lambda h: h.wechat(_wechat_text(msg_id="²³")),
    "MsgId Arabic-Indic digits": lambda h: h.wechat(_wechat_text(msg_id="١٢٣")),
    "MsgId fullwidth digits": lambda h: h.wechat(_wechat_text(msg_id="１２３")),
    "MsgId of 5,000 digits": lambda h: h.wechat(_wechat_text(msg_id="9" * 5000)),
    "MsgId past 64 bits": lambda h: h.wechat(_wechat_text(msg_id=str(2**64))),
    "FromUserName of 50,000 characters": lambda h: h.wechat(_wechat_text(openid="o" * 50_000), openid="oShort"),
    "MsgType longer than its column": lambda h: h.wechat(_wechat_text().replace(
        "<![CDATA[text]]>", "<![CDATA[" + "t" * 17 + "]]>")),
    "event name too long for the dedupe key": lambda h: h.wechat(wxml.event_xml("E" * 300)),
    "event CreateTime not a number": lambda h: h.wechat(wxml.subscribe_xml().replace(
        "<CreateTime>", "<CreateTime>x")),
    "Weibo sender_id superscript digits": lambda h: h.weibo(wb.text_push("hi", sender_id="²³", receiver_id=UID)),
    "Weibo sender_id Arabic-Indic digits": lambda h: h.weibo(wb.text_push("hi", sender_id="١٢٣", receiver_id=UID)),
    "Weibo sender_id fullwidth digits": lambda h: h.weibo(wb.text_push("hi", sender_id="１２３", receiver_id=UID)),
    "Weibo sender_id past 64 bits": lambda h: h.weibo(wb.text_push("hi", sender_id=2**64, receiver_id=UID)),
    "Weibo NaN": lambda h: _weibo_body(h, json.dumps({**wb.text_push("hi", receiver_id=UID), "data": {"x": float("nan")}})),
    "Weibo Infinity": lambda h: _weibo_body(h, json.dumps({**wb.text_push("hi", receiver_id=UID), "x": float("inf")})),
    "Weibo 1e999": lambda h: _weibo_body(h, json.dumps(wb.text_push("hi", receiver_id=UID))[:-1] + ', "x": 1e999}'),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
async def test_values_the_columns_cannot_hold_are_refused_before_anything_is_stored(hooks: Hooks, case: str):
    prepared = INVALID[case](hooks)
    assert await refused(hooks, prepared, prepared.headers) == 400


# --- a property-based fuzz of both webhooks ---

IDS = st.one_of(st.integers(0, 2**64 - 1).map(str), st.integers(2**64, 2**80).map(str),
                st.text(alphabet="0123456789²³١٢٣１２３", max_size=24), st.text(max_size=8))
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=12),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                        max_size=3),
                           max_leaves=8)
FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def wechat_pushes(draw) -> tuple[str, str]:
    """(mode, xml): messages and events built by the fake with fuzzed values, or any text."""
    who = {"openid": draw(st.sampled_from(["oFuzzUser01", "oFuzzUser02"]) | st.text(max_size=140))}
    kind = draw(st.sampled_from(["text", "event", "image", "location", "garbage"]))
    if kind == "text":
        xml = wxml.text_xml(draw(st.text(max_size=60)), msg_id=draw(IDS), **who)
    elif kind == "event":
        xml = wxml.event_xml(draw(st.sampled_from(["subscribe", "CLICK", "SCAN"]) | st.text(max_size=40)),
                           event_key=draw(st.none() | st.text(max_size=20)), **who)
    elif kind == "image":
        xml = wxml.image_xml(draw(st.text(max_size=30)), msg_id=draw(IDS), **who)
    elif kind == "location":
        xml = wxml.location_xml(label=draw(st.text(max_size=30)), msg_id=draw(IDS), **who)
    else:
        xml = draw(st.text(max_size=200))
    return draw(st.sampled_from(["plain", "safe"])), xml


@st.composite
def weibo_bodies(draw) -> str:
    """A push's JSON with fuzzed fields (NaN, huge numbers, odd ids, deep or odd data), or any text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    depth = draw(st.integers(0, 3000))
    push = {"type": draw(st.sampled_from(["text", "mention", "event", "image", "position"]) | st.text(max_size=40)),
            "sender_id": draw(st.integers(-2**70, 2**70) | IDS | JSON_VALUES),
            "receiver_id": draw(st.just(int(UID)) | st.just(UID) | IDS),
            "created_at": draw(st.just(wb.created_at()) | st.text(max_size=70)),
            "text": draw(st.text(max_size=60) | JSON_VALUES),
            "data": draw(JSON_VALUES | st.fixed_dictionaries({"subtype": st.text(max_size=12),
                                                              "key": st.text(max_size=12)}))}
    text = json.dumps(push, ensure_ascii=draw(st.booleans()))
    return text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}" if depth else text


# most pushes are signed and sent as the platform does; some carry a forged signature or a
# body that claims to be compressed
TAMPERING = st.sampled_from([None] * 6 + ["signature", "gzip"])


async def _answered_or_refused(hooks: Hooks, prepared: PreparedRequest, tampering: str | None) -> None:
    """No 5xx; a refused push leaves no row; an accepted one leaves only valid customer ids."""
    headers = {**prepared.headers, **(GZIP if tampering == "gzip" else {})}
    if tampering == "signature":
        prepared = _non_ascii_signature(prepared)
    before = await hooks.stored()
    status, body = await send(prepared, headers)
    assert status < 500, (status, body[:300], prepared.body[:300])
    if status != 200:
        assert await hooks.stored() == before, (status, body[:300], prepared.body[:300])
        return
    assert tampering is None, (tampering, status)
    async with hooks.rt.db.sessions() as session:
        customers = (await session.execute(select(Customer.platform, Customer.external_id))).all()
    for platform, external_id in customers:  # Weibo ids are 64-bit numbers; WeChat openids fit the column
        weibo_id = external_id.isascii() and external_id.isdigit() and int(external_id) < 2**64
        assert len(external_id) <= 128 and (platform != "weibo" or weibo_id), (platform, external_id)


@FUZZ
@given(push=wechat_pushes(), tampering=TAMPERING)
async def test_fuzzed_wechat_pushes_are_answered_or_refused_without_a_trace(hooks: Hooks, push: tuple[str, str],
                                                                            tampering: str | None):
    mode, xml = push
    await _answered_or_refused(hooks, hooks.wechat(xml, mode=mode, openid="oFuzz"), tampering)


@FUZZ
@given(body=weibo_bodies(), tampering=TAMPERING)
async def test_fuzzed_weibo_pushes_are_answered_or_refused_without_a_trace(hooks: Hooks, body: str,
                                                                           tampering: str | None):
    await _answered_or_refused(hooks, _weibo_body(hooks, body), tampering)
