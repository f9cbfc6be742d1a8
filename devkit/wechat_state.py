"""The state of the loopback WeChat API fake (devkit/wechat_api.py): apps, tokens, users
and their customer-service windows, injected failures, what was delivered.

Kept apart from the HTTP handlers so that tests can drive and inspect the fake directly
(advance its clock, force errcodes) without reading the server code.
"""
from __future__ import annotations

import random
import string
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


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

ENDPOINTS = ("token", "send", "userinfo")
EVENT_KINDS = ("click", "subscribe", "scan")


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
    endpoint: str  # "send", "token" or "any" (send)
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
    calls: list[ApiCall] = field(default_factory=list)
    # apps bound to an open-platform account: only their user/info answers carry the unionid
    bound_apps: set[str] = field(default_factory=set)
    unionids: dict[str, str] = field(default_factory=dict)  # openid -> the person's unionid

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

    def set_unionid(self, openid: str, unionid: str) -> None:
        """The user's unionid (the same for the person's openids on every bound app)."""
        self._user(openid)
        self.unionids[openid] = unionid

    def user_info(self, appid: str, openid: str) -> dict[str, Any]:
        """What `GET /cgi-bin/user/info` answers for a known user: WeChat's fields; `unionid`
        only when the app is bound to an open-platform account; only openid (and unionid)
        for a user who unsubscribed."""
        user = self._users.get(openid)
        if user is None:
            return self.error(40003)
        info: dict[str, Any] = {"subscribe": 1 if user.subscribed else 0, "openid": openid}
        if user.subscribed:
            info.update(language="zh_CN", subscribe_time=int(self.now()) - 3600, remark="", groupid=0,
                        tagid_list=[], subscribe_scene="ADD_SCENE_SEARCH", qr_scene=0, qr_scene_str="")
        if appid in self.bound_apps and openid in self.unionids:
            info["unionid"] = self.unionids[openid]
        return info

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
        """Answer the next `count` calls of `endpoint` ("send", "token" or "any" for send)
        with `errcode`, whatever the request."""
        if endpoint not in (*ENDPOINTS, "any"):
            raise ValueError(f"endpoint must be one of {ENDPOINTS} or 'any'")
        if count < 1:
            raise ValueError("count must be at least 1")
        self._forced.append(_Forced(int(errcode), int(count), endpoint, errmsg))

    def clear_forced(self) -> None:
        self._forced.clear()

    def take_forced(self, endpoint: str) -> _Forced | None:
        for forced in self._forced:
            if forced.endpoint == endpoint or (forced.endpoint == "any" and endpoint == "send"):
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
            elif name == "bound_apps":
                self.bound_apps = {str(appid) for appid in value}
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
        out["bound_apps"] = sorted(self.bound_apps)
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
