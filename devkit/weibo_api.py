"""A loopback fake of Weibo's fan-service reply API (`POST /2/messages/reply.json`).

It exists so that carebot's outbox can be tested against what protocols.md says about
Weibo: form-encoded fields (`type`, `data` as URL-encoded JSON, `receiver_id`,
`save_sender_box`), errors as HTTP 4xx with `{"request", "error_code", "error"}` (codes as
strings), 21327 expired and 21332 invalid token, 10023/10024 rate limits, and the reply
window: 48 h after a message, follow, click or scan (any number of replies), one reply
within 48 h after a mention. Failures and slowness can be injected.

Not documented by Weibo, so chosen here (and configurable): the code for a reply outside
the window (`WINDOW_ERROR`, 21999, made up), the HTTP statuses (400 parameters, 401
tokens, 403 rate limits and window), that only `type=text` is accepted, and the
text limit of an active reply (300 characters, like a passive one).

    runner, base, state = await start_fake_weibo_api(state=FakeWeiboState(tokens={"T": "1902538057"}))
    state.user_message("2489518277")
"""
from __future__ import annotations

import argparse
import json
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from devkit.loopback import serve, wait_unless_gone

REPLY_PATH = "/2/messages/reply.json"
WINDOW_ERROR = 21999
ERRORS: dict[int, tuple[int, str]] = {  # error_code -> (HTTP status, error)
    10001: (500, "system error"),
    10008: (400, "param error, see doc for more info"),
    10016: (400, "miss required parameter"),
    10023: (403, "user requests out of rate limit"),
    10024: (403, "user requests for (messages/reply) out of rate limit"),
    21327: (401, "expired_token"),
    21332: (401, "invalid_access_token"),
    WINDOW_ERROR: (403, "reply out of time window or reply count used up (fake: code not documented)"),
}
GRANT_KINDS = ("message", "follow", "click", "scan", "scan_follow")


@dataclass
class Delivered:
    """One reply the fake accepted (what the fan would see)."""

    account_uid: str
    receiver_id: str
    text: str
    at: float
    save_sender_box: str = "0"


@dataclass
class ApiCall:
    at: float
    status: int
    error_code: int | None
    receiver_id: str | None = None


@dataclass
class _Grant:
    until: float
    limit: int | None  # None: any number
    used: int = 0


@dataclass
class _Fan:
    following: bool = True
    private: _Grant | None = None  # after a message, follow, click or scan
    mention: _Grant | None = None  # after a mention


@dataclass
class FakeWeiboState:
    """Everything the fake knows; tests change it directly or through the methods.
    Times are on the fake's clock (`now()`), which `advance` moves forward."""

    tokens: dict[str, str] = field(default_factory=dict)  # access token -> the account's uid
    seed: int | None = 0
    clock: Callable[[], float] = time.time
    window_seconds: float = 48 * 3600.0
    mention_replies: int = 1
    max_text_chars: int = 300
    rate_limit_per_hour: int | None = None  # per token; None: no limit
    strict_windows: bool = True  # False: every fan may be written to (for trying carebot out)
    fail_share: float = 0.0  # share of calls answered HTTP 500 / 10001
    delay: float = 0.0  # seconds before answering; a client that hangs up meanwhile gets nothing sent
    delivered: list[Delivered] = field(default_factory=list)
    calls: list[ApiCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self._offset = 0.0
        self._fans: dict[str, _Fan] = {}
        self._expired: set[str] = set()
        self._forced: deque[int] = deque()
        self._sent_at: dict[str, deque[float]] = {}

    def now(self) -> float:
        return self.clock() + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def expire_token(self, token: str) -> None:
        """The token answers 21327 from now on (an admin must set a new one)."""
        self._expired.add(token)

    def force_error(self, error_code: int, count: int = 1) -> None:
        """Answer the next `count` reply calls with `error_code`, whatever the request."""
        self._forced.extend([int(error_code)] * count)

    def _fan(self, uid: str) -> _Fan:
        return self._fans.setdefault(str(uid), _Fan())

    def user_message(self, uid: str | int, kind: str = "message", at: float | None = None) -> None:
        """The fan wrote, followed, clicked or scanned: 48 h, any number of replies."""
        if kind not in GRANT_KINDS:
            raise ValueError(f"kind must be one of {GRANT_KINDS}")
        fan = self._fan(uid)
        fan.following = fan.following or kind in ("follow", "scan_follow")
        fan.private = _Grant((self.now() if at is None else at) + self.window_seconds, None)

    def user_mention(self, uid: str | int, at: float | None = None) -> None:
        """The fan @mentioned the account in a post: 48 h, `mention_replies` replies."""
        self._fan(uid).mention = _Grant((self.now() if at is None else at) + self.window_seconds,
                                        self.mention_replies)

    def unfollow(self, uid: str | int) -> None:
        fan = self._fan(uid)
        fan.following, fan.private, fan.mention = False, None, None

    def messages_to(self, uid: str | int) -> list[str]:
        return [d.text for d in self.delivered if d.receiver_id == str(uid)]

    def spend_window(self, uid: str) -> bool:
        """Whether the fan may get a reply now (and count it)."""
        fan = self._fans.get(uid)
        if fan is None:
            return not self.strict_windows
        if not fan.following:
            return False
        now = self.now()
        for grant in (fan.private, fan.mention):  # the unlimited one first
            if grant is not None and now < grant.until and (grant.limit is None or grant.used < grant.limit):
                grant.used += 1
                return True
        return not self.strict_windows and fan.private is None and fan.mention is None

    def over_rate_limit(self, token: str) -> bool:
        if self.rate_limit_per_hour is None:
            return False
        sent = self._sent_at.setdefault(token, deque())
        now = self.now()
        while sent and sent[0] <= now - 3600:
            sent.popleft()
        if len(sent) >= self.rate_limit_per_hour:
            return True
        sent.append(now)
        return False

    def take_forced(self) -> int | None:
        return self._forced.popleft() if self._forced else None


STATE: web.AppKey[FakeWeiboState] = web.AppKey("weibo_state", FakeWeiboState)


def _error(state: FakeWeiboState, code: int, receiver: str | None = None) -> web.Response:
    status, error = ERRORS.get(code, (400, "error"))
    state.calls.append(ApiCall(state.now(), status, code, receiver))
    body = {"request": REPLY_PATH, "error_code": str(code), "error": error}
    return web.json_response(body, status=status)


def _reply_text(form: Any) -> str | None:
    """The text of a `type=text` reply; None unless `data` is URL-encoded JSON with a text."""
    raw = form.get("data", "")
    if "{" in raw or "%" not in raw:  # plain JSON: not URL-encoded as protocols.md asks
        return None
    try:
        data = json.loads(unquote(raw))
    except ValueError:
        return None
    text = data.get("text") if isinstance(data, dict) else None
    return text if isinstance(text, str) and text else None


async def reply_handler(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.delay > 0 and not await wait_unless_gone(request, state.delay):
        state.calls.append(ApiCall(state.now(), 0, None))  # the client gave up: nothing delivered
        return web.json_response({"error": "client gone"}, status=504)  # never read
    token = request.query.get("access_token", "")
    form = await request.post()
    receiver = str(form.get("receiver_id", "")) or None
    if state.fail_share > 0 and state.random.random() < state.fail_share:
        return _error(state, 10001, receiver)
    forced = state.take_forced()
    if forced is not None:
        return _error(state, forced, receiver)
    if token in state._expired:
        return _error(state, 21327, receiver)
    if token not in state.tokens:
        return _error(state, 21332, receiver)
    if not receiver or not form.get("type") or not form.get("data"):
        return _error(state, 10016, receiver)
    text = _reply_text(form)
    if (form["type"] != "text" or not receiver.isdigit() or text is None or len(text) > state.max_text_chars
            or form.get("save_sender_box", "0") not in ("0", "1")):
        return _error(state, 10008, receiver)
    if state.over_rate_limit(token):
        return _error(state, 10023, receiver)
    if not state.spend_window(receiver):
        return _error(state, WINDOW_ERROR, receiver)
    state.delivered.append(Delivered(state.tokens[token], receiver, text, state.now(),
                                     str(form.get("save_sender_box", "0"))))
    state.calls.append(ApiCall(state.now(), 200, None, receiver))
    return web.json_response({"result": True, "sender_id": state.tokens[token], "receiver_id": receiver})


async def messages_handler(request: web.Request) -> web.Response:
    """`GET /__fake__/messages`: what was delivered, for manual runs."""
    state = request.app[STATE]
    return web.json_response({"delivered": [d.__dict__ for d in state.delivered]},
                             dumps=lambda value: json.dumps(value, ensure_ascii=False))


def make_weibo_api_app(state: FakeWeiboState | None = None) -> web.Application:
    app = web.Application()
    app[STATE] = state if state is not None else FakeWeiboState()
    app.router.add_post(REPLY_PATH, reply_handler)
    app.router.add_get("/__fake__/messages", messages_handler)
    return app


async def start_fake_weibo_api(host: str = "127.0.0.1", port: int = 0, state: FakeWeiboState | None = None
                               ) -> tuple[web.AppRunner, str, FakeWeiboState]:
    """Serve the fake; returns (runner, base_url, state). base_url stands for
    https://m.api.weibo.com (CAREBOT_WEIBO_API_BASE). Stop it with `await runner.cleanup()`."""
    app = make_weibo_api_app(state)
    runner, base = await serve(app, host, port)
    return runner, base, app[STATE]


def main(argv: list[str] | None = None) -> None:
    """`python -m devkit.weibo_api --port 9002 --token TOKEN:UID` for trying carebot out
    (every fan may be written to unless --strict)."""
    parser = argparse.ArgumentParser(prog="python -m devkit.weibo_api", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9002)
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN:UID")
    parser.add_argument("--strict", action="store_true", help="enforce the reply windows")
    args = parser.parse_args(argv)
    tokens = dict(item.split(":", 1) for item in args.token if ":" in item)
    state = FakeWeiboState(tokens=tokens, strict_windows=args.strict)
    print(f"fake Weibo API on http://{args.host}:{args.port} for uids {sorted(tokens.values())}", flush=True)
    web.run_app(make_weibo_api_app(state), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
