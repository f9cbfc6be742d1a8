"""A loopback fake of the WeChat official-account API (token, customer-service messages).

It exists so that carebot's outbox sender can be tested against the rules that bite in
production (protocols.md, "Customer-service messages"): the 48 h / 5 message window, the
1 min / 3 message window after a click, subscribe or scan, token invalidation on refetch,
the 2048-byte limit, and transient failures, slowness and forced errcodes.

Endpoints (all answer HTTP 200 with a JSON body, as WeChat does, unless a 500 is injected):

- ``GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..``
  -> ``{"access_token": "...", "expires_in": 7200}``. A wrong secret answers 40001
  (protocols.md lists only 40001 "invalid credential"; newer WeChat says 40125 "invalid
  appsecret": set ``wrong_secret_errcode``). Unknown appid -> 40013, wrong grant_type ->
  40002, more than ``token_daily_limit`` fetches in 24 h -> 45009. Each fetch supersedes
  the app's previous token, which stays valid for ``token_grace`` seconds (WeChat: about
  5 min; default here 0 so tests see the invalidation at once).
- ``POST /cgi-bin/message/custom/send?access_token=T`` (text only).
- ``POST /cgi-bin/message/custom/typing?access_token=T``.
- ``GET|POST /__fake__/config``, ``POST /__fake__/user_message``, ``/__fake__/user_event``,
  ``/__fake__/user``, ``GET /__fake__/messages``: control and inspection for manual runs.

Codes not in protocols.md that the fake uses (real WeChat's): 40002 bad grant_type, 40008
unsupported msgtype, 40013 unknown appid, 41001 access_token missing, 44004 empty text,
47001 malformed body. Error messages end in `` rid: ...`` as WeChat's do, so clients must
look at ``errcode`` only. Users (openids) are shared by all apps registered on one fake.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import string
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from aiohttp import web

from bot.fakes.loopback import serve, wait_unless_gone

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43019: "require remove blacklist",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
    48001: "api unauthorized",
}

ENDPOINTS = ("token", "send", "typing")
EVENT_KINDS = ("click", "subscribe", "scan")
# A JSON \u escape is a backslash preceded by an even number of backslashes.
_UNICODE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u")


@dataclass
class Delivered:
    """One message the fake accepted (what the user would see in the chat)."""

    appid: str
    openid: str
    content: str
    at: float
    msgtype: str = "text"
    escaped: bool = False  # the body used \u escapes, so the user sees them literally


@dataclass
class ApiCall:
    """One call to an API endpoint and how the fake answered it (for asserting retries)."""

    endpoint: str
    at: float
    errcode: int | None  # None: HTTP 500 or the client went away before the answer
    status: int
    appid: str | None = None
    openid: str | None = None


@dataclass
class _Grant:
    """A customer-service window: `limit` messages until `until`."""

    until: float
    limit: int
    used: int = 0


@dataclass
class _User:
    subscribed: bool = True
    blacklisted: bool = False
    message_grant: _Grant | None = None  # from the last inbound message
    event_grant: _Grant | None = None  # from the last click / subscribe / scan


@dataclass
class _Token:
    appid: str
    issued_at: float
    superseded_at: float | None = None


@dataclass
class _Forced:
    errcode: int
    remaining: int
    endpoint: str  # "send", "typing", "token" or "any" (send and typing)
    errmsg: str | None = None


@dataclass
class FakeWeChatState:
    """Everything the fake knows; tests change it directly or through the methods.

    Times are seconds on the fake's clock (`now()`: `clock()` plus what `advance` added),
    so windows of 48 h can be tested without waiting.
    """

    apps: dict[str, str] = field(default_factory=dict)  # appid -> secret
    seed: int | None = 0
    clock: Callable[[], float] = time.time
    token_ttl: float = 7200.0
    token_grace: float = 0.0
    token_daily_limit: int = 2000
    wrong_secret_errcode: int = 40001
    window_limit: int = 5
    window_seconds: float = 48 * 3600.0
    event_limit: int = 3
    event_seconds: float = 60.0
    max_content_bytes: int = 2048
    literal_unicode_escapes: bool = True
    fail_share: float = 0.0
    http_500_share: float = 0.0
    delay: float = 0.0
    deliver_before_delay: bool = False
    delivered: list[Delivered] = field(default_factory=list)
    typing: list[tuple[str, str, float]] = field(default_factory=list)  # openid, command, at
    calls: list[ApiCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self._offset = 0.0
        self._users: dict[str, _User] = {}
        self._tokens: dict[str, _Token] = {}
        self._current: dict[str, str] = {}  # appid -> newest token
        self._fetch_times: dict[str, deque[float]] = {}
        self.token_fetches: dict[str, int] = {}
        self._forced: list[_Forced] = []

    # --- clock and reproducibility ---
    def now(self) -> float:
        return self.clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (windows and token expiry follow it)."""
        self._offset += seconds

    def reseed(self, seed: int | None) -> None:
        self.seed = seed
        self.random = random.Random(seed)

    # --- apps and tokens ---
    def add_app(self, appid: str, secret: str) -> None:
        self.apps[appid] = secret

    def fetch_count(self, appid: str) -> int:
        """How many tokens were handed out to `appid` (a shared-token bug shows up here)."""
        return self.token_fetches.get(appid, 0)

    def current_token(self, appid: str) -> str | None:
        return self._current.get(appid)

    def issue_token(self, appid: str) -> str:
        """Hand out a new token and supersede the previous one, as each fetch does."""
        now = self.now()
        old = self._current.get(appid)
        if old is not None and self._tokens[old].superseded_at is None:
            self._tokens[old].superseded_at = now
        token = "".join(self.random.choices(string.ascii_letters + string.digits + "_-", k=96))
        self._tokens[token] = _Token(appid, now)
        self._current[appid] = token
        self.token_fetches[appid] = self.token_fetches.get(appid, 0) + 1
        return token

    def check_token(self, token: str | None) -> tuple[int, str | None]:
        """(errcode, appid): 0 when usable, 41001 missing, 40001 unknown/superseded, 42001 expired."""
        if not token:
            return 41001, None
        entry = self._tokens.get(token)
        if entry is None:
            return 40001, None
        now = self.now()
        if entry.superseded_at is not None and now >= entry.superseded_at + self.token_grace:
            return 40001, entry.appid
        if now >= entry.issued_at + self.token_ttl:
            return 42001, entry.appid
        return 0, entry.appid

    def expire_tokens(self) -> None:
        """Make every issued token expired (42001), as if 2 h had passed for tokens only."""
        for entry in self._tokens.values():
            entry.issued_at = min(entry.issued_at, self.now() - self.token_ttl)

    # --- users and windows ---
    def _user(self, openid: str) -> _User:
        return self._users.setdefault(openid, _User())

    def add_user(self, openid: str, *, subscribed: bool = True) -> None:
        """Make `openid` known without opening a window (sends answer 45015)."""
        self._user(openid).subscribed = subscribed

    def user_message(self, openid: str, at: float | None = None) -> None:
        """The user wrote to the account at `at` (default now): a fresh 48 h / 5 window."""
        user = self._user(openid)
        user.subscribed = True
        start = self.now() if at is None else at
        user.message_grant = _Grant(start + self.window_seconds, self.window_limit)

    def user_event(self, openid: str, kind: str, at: float | None = None) -> None:
        """A menu click, subscribe or QR scan at `at`: a fresh 1 min / 3 window."""
        if kind.lower() not in EVENT_KINDS:
            raise ValueError(f"kind must be one of {EVENT_KINDS}, not {kind!r}")
        user = self._user(openid)
        if kind.lower() == "subscribe":
            user.subscribed = True
        start = self.now() if at is None else at
        user.event_grant = _Grant(start + self.event_seconds, self.event_limit)

    def set_unsubscribed(self, openid: str) -> None:
        """The user unfollowed: every send answers 45015 until they subscribe again."""
        user = self._user(openid)
        user.subscribed = False
        user.message_grant = user.event_grant = None

    def set_blacklisted(self, openid: str, blacklisted: bool = True) -> None:
        """The account blacklisted the user: sends answer 43019."""
        self._user(openid).blacklisted = blacklisted

    def remaining(self, openid: str) -> int:
        """Messages the user may still receive now (0 outside any window)."""
        user = self._users.get(openid)
        if user is None or not user.subscribed:
            return 0
        return sum(g.limit - g.used for g in self._active_grants(user))

    def _active_grants(self, user: _User) -> list[_Grant]:
        now = self.now()
        grants = [g for g in (user.message_grant, user.event_grant) if g is not None and now < g.until]
        return sorted(grants, key=lambda g: g.until)  # spend the one that ends first

    def messages_to(self, openid: str) -> list[str]:
        return [d.content for d in self.delivered if d.openid == openid]

    # --- failure injection ---
    def set_fail_share(self, share: float) -> None:
        """Fraction (0..1) of send calls answered {"errcode":-1,"errmsg":"system error"}."""
        self.configure(fail_share=share)

    def set_http_500_share(self, share: float) -> None:
        """Fraction (0..1) of API calls (token included) answered with HTTP 500."""
        self.configure(http_500_share=share)

    def set_delay(self, seconds: float, *, deliver_before: bool = False) -> None:
        """Wait before answering. With `deliver_before` the message is delivered first
        (the client times out on a message that did arrive: retries make duplicates);
        otherwise a client that gave up during the wait gets nothing delivered."""
        self.configure(delay=seconds, deliver_before_delay=deliver_before)

    def force_errcode(self, errcode: int, count: int = 1, *, endpoint: str = "send",
                      errmsg: str | None = None) -> None:
        """Answer the next `count` calls of `endpoint` ("send", "typing", "token" or "any"
        for send and typing) with `errcode`, whatever the request."""
        if endpoint not in (*ENDPOINTS, "any"):
            raise ValueError(f"endpoint must be one of {ENDPOINTS} or 'any'")
        if count < 1:
            raise ValueError("count must be at least 1")
        self._forced.append(_Forced(int(errcode), int(count), endpoint, errmsg))

    def clear_forced(self) -> None:
        self._forced.clear()

    def take_forced(self, endpoint: str) -> _Forced | None:
        for forced in self._forced:
            if forced.endpoint == endpoint or (forced.endpoint == "any" and endpoint != "token"):
                forced.remaining -= 1
                if forced.remaining <= 0:
                    self._forced.remove(forced)
                return forced
        return None

    def configure(self, **changes: Any) -> None:
        """Set knobs by name, validated; what `POST /__fake__/config` calls."""
        shares = ("fail_share", "http_500_share")
        floats = ("delay", "token_ttl", "token_grace", "window_seconds", "event_seconds")
        ints = ("window_limit", "event_limit", "max_content_bytes", "token_daily_limit",
                "wrong_secret_errcode")
        bools = ("deliver_before_delay", "literal_unicode_escapes")
        for name, value in changes.items():
            if name in shares:
                value = float(value)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{name} must be within 0..1")
            elif name in floats:
                value = float(value)
                if value < 0:
                    raise ValueError(f"{name} must not be negative")
            elif name in ints:
                value = int(value)
            elif name in bools:
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif name == "seed":
                self.reseed(None if value is None else int(value))
                continue
            elif name == "advance":
                self.advance(float(value))
                continue
            elif name == "force":
                for item in value if isinstance(value, list) else [value]:
                    self.force_errcode(int(item["errcode"]), int(item.get("count", 1)),
                                       endpoint=item.get("endpoint", "send"), errmsg=item.get("errmsg"))
                continue
            elif name == "clear_forced":
                if value:
                    self.clear_forced()
                continue
            elif name == "apps":
                for appid, secret in dict(value).items():
                    self.add_app(str(appid), str(secret))
                continue
            else:
                raise ValueError(f"unknown setting {name!r}")
            setattr(self, name, value)

    def config(self) -> dict[str, Any]:
        """The current knobs, as `GET /__fake__/config` shows them."""
        names = ("seed", "token_ttl", "token_grace", "token_daily_limit", "wrong_secret_errcode",
                 "window_limit", "window_seconds", "event_limit", "event_seconds",
                 "max_content_bytes", "literal_unicode_escapes", "fail_share", "http_500_share",
                 "delay", "deliver_before_delay")
        out: dict[str, Any] = {name: getattr(self, name) for name in names}
        out["apps"] = sorted(self.apps)
        out["forced"] = [asdict(f) for f in self._forced]
        out["now"] = self.now()
        return out

    def error(self, errcode: int, errmsg: str | None = None) -> dict[str, Any]:
        """A WeChat error body; messages carry a request id like WeChat's."""
        if errcode == 0:
            return {"errcode": 0, "errmsg": "ok"}
        message = errmsg or ERRMSG.get(errcode, "error")
        if errcode > 0 and errmsg is None:
            message += f" rid: {self.random.getrandbits(48):012x}"
        return {"errcode": errcode, "errmsg": message}


STATE: web.AppKey[FakeWeChatState] = web.AppKey("wechat_state", FakeWeChatState)
_control = partial(web.json_response, dumps=partial(json.dumps, ensure_ascii=False))


def _json(body: dict[str, Any]) -> web.Response:
    # UTF-8, not \u-escaped, with the content type WeChat's API uses.
    return web.Response(body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                        headers={"Content-Type": "application/json; encoding=utf-8"})


def _http_500() -> web.Response:
    return web.Response(status=500, text="<html><body>500 Internal Server Error</body></html>",
                        content_type="text/html")


def _record(state: FakeWeChatState, endpoint: str, body: dict[str, Any] | None, status: int = 200,
            appid: str | None = None, openid: str | None = None) -> None:
    errcode = None if body is None else int(body.get("errcode", 0))
    state.calls.append(ApiCall(endpoint, state.now(), errcode, status, appid, openid))


async def _answer(request: web.Request, endpoint: str,
                  handle: Callable[[FakeWeChatState], Any]) -> web.Response:
    """Common path: delay, HTTP 500 share, forced errcodes, then the endpoint's own rules."""
    state = request.app[STATE]
    if state.delay > 0 and not state.deliver_before_delay:
        if not await wait_unless_gone(request, state.delay):
            # The client's timeout fired: the request is dropped unprocessed.
            state.calls.append(ApiCall(endpoint, state.now(), None, 0))
            return _json(state.error(-1))  # written to a closed connection, never read
    if state.http_500_share > 0 and state.random.random() < state.http_500_share:
        state.calls.append(ApiCall(endpoint, state.now(), None, 500))
        response: web.Response = _http_500()
    else:
        forced = state.take_forced(endpoint)
        if forced is not None:
            body = state.error(forced.errcode, forced.errmsg)
            _record(state, endpoint, body)
        else:
            body = await handle(state)
        response = _json(body)
    if state.delay > 0 and state.deliver_before_delay:
        await asyncio.sleep(state.delay)
    return response


async def token_handler(request: web.Request) -> web.Response:
    async def handle(state: FakeWeChatState) -> dict[str, Any]:
        query = request.query
        appid, secret = query.get("appid", ""), query.get("secret", "")
        if query.get("grant_type") != "client_credential":
            body = state.error(40002)
        elif appid not in state.apps:
            body = state.error(40013)
        elif secret != state.apps[appid]:
            body = state.error(state.wrong_secret_errcode)
        else:
            times = state._fetch_times.setdefault(appid, deque())
            now = state.now()
            while times and times[0] <= now - 86400:
                times.popleft()
            if len(times) >= state.token_daily_limit:
                body = state.error(45009)
            else:
                times.append(now)
                token = state.issue_token(appid)
                body = {"access_token": token, "expires_in": int(state.token_ttl)}
        _record(state, "token", body, appid=appid or None)
        return body

    return await _answer(request, "token", handle)


async def _read_json(request: web.Request, state: FakeWeChatState) -> tuple[dict[str, Any] | None, bool]:
    """The JSON body, or None when malformed; True when it used \\u escapes.

    WeChat shows \\u escapes to the user literally (hence "not \\u-escaped" in
    protocols.md), so by default the fake keeps them as typed.
    """
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, False
    escaped = bool(_UNICODE_ESCAPE.search(text))
    if escaped and state.literal_unicode_escapes:
        text = _UNICODE_ESCAPE.sub(lambda m: m.group(1) + "\\\\u", text)
    try:
        data = json.loads(text)
    except ValueError:
        return None, escaped
    return (data if isinstance(data, dict) else None), escaped


def _window_error(state: FakeWeChatState, openid: str, *, spend: bool) -> int:
    """0 when the user may get a message now (and, if `spend`, count it), else the errcode."""
    user = state._users.get(openid)
    if user is None:
        return 40003
    if user.blacklisted:
        return 43019
    if not user.subscribed:
        return 45015
    grants = state._active_grants(user)
    if not grants:
        return 45015
    if not spend:
        return 0
    for grant in grants:
        if grant.used < grant.limit:
            grant.used += 1
            return 0
    return 45047


async def send_handler(request: web.Request) -> web.Response:
    async def handle(state: FakeWeChatState) -> dict[str, Any]:
        errcode, appid = state.check_token(request.query.get("access_token"))
        openid = None
        if errcode:
            body = state.error(errcode)
        elif state.fail_share > 0 and state.random.random() < state.fail_share:
            body = {"errcode": -1, "errmsg": "system error"}
        else:
            data, escaped = await _read_json(request, state)
            text = data.get("text") if data else None
            openid = data.get("touser") if data else None
            if data is None or not isinstance(openid, str) or not isinstance(data.get("msgtype"), str):
                body = state.error(47001)
            elif data["msgtype"] != "text":
                body = state.error(40008, f"invalid message type: the fake sends text only, "
                                          f"not {data['msgtype']!r}")
            elif not isinstance(text, dict) or not isinstance(text.get("content"), str):
                body = state.error(47001)
            elif not text["content"]:
                body = state.error(44004)
            elif len(text["content"].encode("utf-8")) > state.max_content_bytes:
                body = state.error(45002)
            else:
                errcode = _window_error(state, openid, spend=True)
                body = state.error(errcode)
                if errcode == 0:
                    assert appid is not None
                    state.delivered.append(Delivered(appid, openid, text["content"], state.now(),
                                                     escaped=escaped))
        _record(state, "send", body, appid=appid, openid=openid if isinstance(openid, str) else None)
        return body

    return await _answer(request, "send", handle)


async def typing_handler(request: web.Request) -> web.Response:
    async def handle(state: FakeWeChatState) -> dict[str, Any]:
        errcode, appid = state.check_token(request.query.get("access_token"))
        openid = None
        if errcode:
            body = state.error(errcode)
        else:
            data, _ = await _read_json(request, state)
            openid = data.get("touser") if data else None
            command = data.get("command") if data else None
            if not isinstance(openid, str) or command not in ("Typing", "CancelTyping"):
                body = state.error(47001)
            else:
                # Typing needs an open window but does not use up its count.
                errcode = _window_error(state, openid, spend=False)
                body = state.error(errcode)
                if errcode == 0:
                    state.typing.append((openid, command, state.now()))
        _record(state, "typing", body, appid=appid, openid=openid if isinstance(openid, str) else None)
        return body

    return await _answer(request, "typing", handle)


async def _control_json(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be a JSON object")
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


async def config_handler(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if request.method == "POST":
        try:
            state.configure(**await _control_json(request))
        except (ValueError, TypeError, KeyError) as exc:
            return _control({"error": str(exc)}, status=400)
    return _control(state.config())


async def control_user_message(request: web.Request) -> web.Response:
    state, data = request.app[STATE], await _control_json(request)
    try:
        state.user_message(str(data["openid"]), data.get("at"))
    except (KeyError, TypeError, ValueError) as exc:
        return _control({"error": str(exc)}, status=400)
    return _control({"ok": True, "remaining": state.remaining(str(data["openid"]))})


async def control_user_event(request: web.Request) -> web.Response:
    state, data = request.app[STATE], await _control_json(request)
    try:
        state.user_event(str(data["openid"]), str(data["kind"]), data.get("at"))
    except (KeyError, TypeError, ValueError) as exc:
        return _control({"error": str(exc)}, status=400)
    return _control({"ok": True, "remaining": state.remaining(str(data["openid"]))})


async def control_user(request: web.Request) -> web.Response:
    """{"openid", "subscribed"?, "blacklisted"?}: create or change a user."""
    state, data = request.app[STATE], await _control_json(request)
    openid = data.get("openid")
    if not isinstance(openid, str):
        return _control({"error": "openid missing"}, status=400)
    state.add_user(openid, subscribed=state._user(openid).subscribed)
    if data.get("subscribed") is False:
        state.set_unsubscribed(openid)
    elif data.get("subscribed") is True:
        state._user(openid).subscribed = True
    if "blacklisted" in data:
        state.set_blacklisted(openid, bool(data["blacklisted"]))
    return _control({"ok": True, "remaining": state.remaining(openid)})


async def control_messages(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return _control({"delivered": [asdict(d) for d in state.delivered],
                              "typing": state.typing,
                              "token_fetches": state.token_fetches})


def make_wechat_api_app(state: FakeWeChatState | None = None) -> web.Application:
    """The fake as an aiohttp application; its state is `app[STATE]`."""
    app = web.Application()
    app[STATE] = state if state is not None else FakeWeChatState()
    app.router.add_get("/cgi-bin/token", token_handler)
    app.router.add_post("/cgi-bin/message/custom/send", send_handler)
    app.router.add_post("/cgi-bin/message/custom/typing", typing_handler)
    app.router.add_route("*", "/__fake__/config", config_handler)
    app.router.add_post("/__fake__/user_message", control_user_message)
    app.router.add_post("/__fake__/user_event", control_user_event)
    app.router.add_post("/__fake__/user", control_user)
    app.router.add_get("/__fake__/messages", control_messages)
    return app


async def start_fake_wechat_api(host: str = "127.0.0.1", port: int = 0,
                                state: FakeWeChatState | None = None
                                ) -> tuple[web.AppRunner, str, FakeWeChatState]:
    """Serve the fake; returns (runner, base_url, state). base_url has no trailing slash
    and no /cgi-bin: WeChat's https://api.weixin.qq.com becomes base_url. Stop it with
    `await runner.cleanup()`."""
    app = make_wechat_api_app(state)
    runner, base = await serve(app, host, port)
    return runner, base, app[STATE]


def main(argv: list[str] | None = None) -> None:
    """`python -m bot.fakes.wechat_api --port 9001 --app APPID:SECRET` for trying carebot out."""
    parser = argparse.ArgumentParser(prog="python -m bot.fakes.wechat_api", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--app", action="append", default=[], metavar="APPID:SECRET",
                        help="a known app (repeatable)")
    parser.add_argument("--token-grace", type=float, default=300.0,
                        help="seconds a superseded token still works (WeChat: about 300)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    apps = {}
    for item in args.app:
        appid, sep, secret = item.partition(":")
        if not sep or not appid or not secret:
            parser.error(f"--app wants APPID:SECRET, not {item!r}")
        apps[appid] = secret
    state = FakeWeChatState(apps=apps, seed=args.seed, token_grace=args.token_grace)
    print(f"fake WeChat API on http://{args.host}:{args.port} apps={sorted(apps)}; "
          f"tell it about users with POST /__fake__/user_message {{\"openid\": ...}}", flush=True)
    web.run_app(make_wechat_api_app(state), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
