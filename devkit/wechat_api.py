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
- ``GET /cgi-bin/user/info?access_token=T&openid=O&lang=zh_CN``: the user's info as WeChat
  gives it; ``unionid`` only when the app is in ``bound_apps`` (bound to an open-platform
  account) and the user has one (``set_unionid``); an unknown openid answers 40003.
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
import re
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from typing import Any

from aiohttp import web

from devkit.loopback import serve, wait_unless_gone
from devkit.wechat_state import ApiCall, Delivered, FakeWeChatState

# A JSON \u escape is a backslash preceded by an even number of backslashes.
_UNICODE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u")

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


async def user_info_handler(request: web.Request) -> web.Response:
    async def handle(state: FakeWeChatState) -> dict[str, Any]:
        errcode, appid = state.check_token(request.query.get("access_token"))
        openid = request.query.get("openid")
        if errcode:
            body = state.error(errcode)
        elif not openid:
            body = state.error(41009, "missing openid")
        elif request.query.get("lang", "zh_CN") not in ("zh_CN", "zh_TW", "en"):
            body = state.error(40005, "invalid lang")
        else:
            assert appid is not None
            body = state.user_info(appid, openid)
        _record(state, "userinfo", body, appid=appid, openid=openid)
        return body

    return await _answer(request, "userinfo", handle)


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
    """{"openid", "subscribed"?, "blacklisted"?, "unionid"?}: create or change a user."""
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
    if isinstance(data.get("unionid"), str):
        state.set_unionid(openid, data["unionid"])
    return _control({"ok": True, "remaining": state.remaining(openid)})


async def control_messages(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return _control({"delivered": [asdict(d) for d in state.delivered], "token_fetches": state.token_fetches})


def make_wechat_api_app(state: FakeWeChatState | None = None) -> web.Application:
    """The fake as an aiohttp application; its state is `app[STATE]`."""
    app = web.Application()
    app[STATE] = state if state is not None else FakeWeChatState()
    app.router.add_get("/cgi-bin/token", token_handler)
    app.router.add_post("/cgi-bin/message/custom/send", send_handler)
    app.router.add_get("/cgi-bin/user/info", user_info_handler)
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
    """`python -m devkit.wechat_api --port 9001 --app APPID:SECRET` for trying carebot out."""
    parser = argparse.ArgumentParser(prog="python -m devkit.wechat_api", description=__doc__.split("\n")[0])
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
