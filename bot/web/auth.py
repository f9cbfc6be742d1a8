"""Who is calling: session cookies for the pages, bearer tokens for the API, CSRF, login pages.

The middleware looks the caller up once per request (`request[VIEWER]`); handlers call
`page_viewer` (pages: not logged in -> redirect to /login) or `api_viewer` (API: 401 JSON).
Every state-changing request that authenticates by cookie must carry the session's CSRF
token (form field `csrf_token` or header `X-CSRF-Token`); bearer-token calls need none
because browsers never add them on their own.
"""
from __future__ import annotations

import secrets
import unicodedata
from datetime import datetime, timezone
from urllib.parse import quote, unquote, urlsplit

import aiohttp_jinja2
from aiohttp import web

from bot.desk import auth
from bot.desk.access import Forbidden, NotFound, Viewer
from bot.store.db import Database
from bot.untrusted import same_secret
from bot.web.context import runtime_of
from bot.web.openapi import PREFIX, ApiError, api_route, json_body, text_field
from bot.web.throttle import AttemptLimiter, client_address

COOKIE = "carebot_session"
LOGIN_CSRF_COOKIE = "carebot_login_csrf"
VIEWER = web.RequestKey("carebot_viewer", Viewer)
CSRF = web.RequestKey("carebot_csrf", str)
VIA = web.RequestKey("carebot_via", str)  # how the caller authenticated: session | token | bad-token
LOGIN_LIMITER = web.AppKey("carebot_login_limiter", AttemptLimiter)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# the webhook hot path, the health check and the metrics (their own check) never touch agents' sessions
UNAUTHENTICATED = ("/webhooks/", "/healthz", "/static/", "/metrics")


def now() -> datetime:
    return datetime.now(timezone.utc)


def _db(request: web.Request) -> Database:
    return runtime_of(request).db


def is_api(request: web.Request) -> bool:
    return request.path.startswith(PREFIX + "/")


def behind_tls(request: web.Request) -> bool:
    return (request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
            or runtime_of(request).settings.public_url.lower().startswith("https://"))


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Lax",
                        secure=behind_tls(request))


@web.middleware
async def authenticate(request: web.Request, handler) -> web.StreamResponse:
    request[VIEWER] = request[CSRF] = request[VIA] = None
    if not request.path.startswith(UNAUTHENTICATED):
        await _identify(request)
    try:
        if request.method not in SAFE_METHODS and request[VIA] == "session":
            await _check_csrf(request)
        return await handler(request)
    except ApiError as exc:
        return exc.response() if is_api(request) else _page_error(request, exc.status, exc.reason)
    except Forbidden as exc:
        return ApiError(403, exc.reason).response() if is_api(request) else _page_error(request, 403, exc.reason)
    except NotFound as exc:
        return ApiError(404, exc.reason).response() if is_api(request) else _page_error(request, 404, exc.reason)


async def _identify(request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        viewer = await auth.token_login(_db(request), header[7:].strip(), now())
        request[VIEWER], request[VIA] = viewer, "token" if viewer else "bad-token"
        return
    cookie = request.cookies.get(COOKIE)
    if cookie:
        logged_in = await auth.session_login(_db(request), cookie, now())
        if logged_in is not None:
            request[VIEWER], request[CSRF], request[VIA] = logged_in.viewer, logged_in.csrf_token, "session"


async def _check_csrf(request: web.Request) -> None:
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = (await request.post()).get("csrf_token")
    if not isinstance(sent, str) or not same_secret(sent, request[CSRF] or ""):
        raise ApiError(403, "CSRF 校验失败，请刷新页面后重试")


def api_viewer(request: web.Request) -> Viewer:
    """The caller of an API route, or 401."""
    if request[VIA] == "bad-token":
        raise ApiError(401, "令牌无效或已过期")
    viewer = request[VIEWER]
    if viewer is None:
        raise ApiError(401, "需要登录：使用 Authorization: Bearer 令牌")
    return viewer


def page_viewer(request: web.Request) -> Viewer:
    """The logged-in agent of a page, or a redirect to the login page."""
    viewer = request[VIEWER]
    if viewer is None:
        raise web.HTTPSeeOther("/login?next=" + quote(request.path_qs, safe=""))
    return viewer


def _page_error(request: web.Request, status: int, reason: str) -> web.Response:
    return aiohttp_jinja2.render_template("error.html", request, {"status": status, "reason": reason}, status=status)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no open redirect), however a browser reads it: browsers drop
    tabs and newlines (`/\t/evil.example` is `//evil.example`) and read a backslash as a
    slash; the percent-decoded form is checked too."""
    if not target:
        return "/inbox"
    for form in (target, unquote(target)):
        if (not form.startswith("/") or form.startswith("//") or "\\" in form
                or any(unicodedata.category(char) in ("Cc", "Cf") for char in form)):
            return "/inbox"
    parts = urlsplit(target)
    return "/inbox" if parts.scheme or parts.netloc else target


def _too_many_attempts(request: web.Request) -> float:
    """Count a login attempt of the client; 0, or the seconds it has to wait (then not counted)."""
    limit = runtime_of(request).settings.login_rate_limit
    return request.app[LOGIN_LIMITER].wait(client_address(request), limit)


TOO_MANY = "尝试过于频繁，请 {} 秒后再试"


async def login_page(request: web.Request) -> web.StreamResponse:
    if request[VIEWER] is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return _login_form(request, "", request.query.get("next", ""), "")


def _login_form(request: web.Request, username: str, target: str, error: str,
                status: int = 401) -> web.StreamResponse:
    token = secrets.token_urlsafe(24)
    response = aiohttp_jinja2.render_template("login.html", request, {
        "login_csrf": token, "username": username, "next": target, "error": error})
    if error:
        response.set_status(status)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target = str(form.get("next", ""))
    wait = _too_many_attempts(request)
    if wait:
        return _login_form(request, username, target, TOO_MANY.format(int(wait) + 1), status=429)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not same_secret(str(form.get("csrf_token", "")), expected):
        return _login_form(request, username, target, "页面已过期，请重新登录")
    try:
        viewer = await auth.check_password(_db(request), username, password, now())
    except auth.AuthError as exc:
        return _login_form(request, username, target, exc.reason)
    cookie, _ = await auth.open_session(_db(request), viewer, now())
    response = web.HTTPSeeOther(_safe_next(target))
    set_cookie(request, response, COOKIE, cookie, max_age=int(auth.SESSION_LIFETIME.total_seconds()))
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    viewer = page_viewer(request)  # the middleware checked the CSRF token already
    await auth.close_session(_db(request), request.cookies.get(COOKIE, ""), viewer, now())
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


async def api_token(request: web.Request) -> web.Response:
    wait = _too_many_attempts(request)
    if wait:
        raise ApiError(429, TOO_MANY.format(int(wait) + 1), retry_after=int(wait) + 1)
    body = await json_body(request)
    username = text_field(body, "username", max_length=64)
    password = text_field(body, "password", max_length=1024)
    try:
        viewer = await auth.check_password(_db(request), username, password, now())
    except auth.AuthError as exc:
        raise ApiError(401, exc.reason) from None
    token = await auth.issue_token(_db(request), viewer.username, now(), label="api",
                                   ttl=auth.SESSION_LIFETIME, actor=viewer.username)
    return web.json_response({"token": token, "token_type": "bearer",
                              "expires_in": int(auth.SESSION_LIFETIME.total_seconds())})


def setup_routes(app: web.Application) -> None:
    app[LOGIN_LIMITER] = AttemptLimiter()
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    api_route(app, "POST", "/auth/token", api_token, summary="Exchange username and password for a bearer token",
              tag="auth", public=True,
              body={"type": "object", "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
              responses={200: "token, token_type, expires_in (seconds)", 400: "not JSON",
                         401: "wrong name or password, or locked", 422: "missing field",
                         429: "too many attempts from this address (CAREBOT_LOGIN_RATE_LIMIT a minute)"})
