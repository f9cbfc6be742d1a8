"""The agents' side of the app under attack, over real HTTP against the real app (model,
database, outbox sender; WeChat is the loopback fake): password guessing all at once, open
redirects after login, ids and bodies that used to be 500s, security headers, half-sent
requests, and an event stream whose client leaves.
"""
import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timezone

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import select

from bot.nlu.pool import NluPool
from bot.store.models import Agent, AuditEntry
from bot.web.hardening import SECURITY_HEADERS, app_runner
from tests.agent_stack import PASSWORD, AgentStack, agent_stack, call, login, wait_until
from tests.e2e import SECRET_KEY

WRONG, LOCKED = "用户名或密码错误", "次数过多"


# --- F5: the lockout holds however many guesses arrive at once ---

async def test_concurrent_guesses_check_at_most_five_passwords_then_the_right_one_is_refused(stack: AgentStack):
    stack.rt.settings = replace(stack.rt.settings, login_rate_limit=0)  # the per-address limit would hide the lock
    url = f"{stack.base}/api/v1/auth/token"

    async def attempt(http: aiohttp.ClientSession, password: str) -> tuple[int, dict]:
        return await call(http, "POST", url, json={"username": "bob", "password": password})

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        guesses = [asyncio.create_task(attempt(http, f"guess-{i:02d}-wrong")) for i in range(40)]
        await asyncio.wait(guesses, return_when=asyncio.FIRST_COMPLETED)  # all have arrived, some are checked
        right = await attempt(http, PASSWORD)  # while the others are still in flight
        results = await asyncio.gather(*guesses)
        afterwards = await attempt(http, PASSWORD)
    checked = [body for status, body in results if body["error"] == WRONG]
    assert 1 <= len(checked) <= 5, [body["error"] for _, body in results]
    assert all(status == 401 and (body["error"] == WRONG or LOCKED in body["error"]) for status, body in results)
    assert right[0] == 401 and LOCKED in right[1]["error"], right
    assert afterwards[0] == 401 and LOCKED in afterwards[1]["error"], afterwards
    async with stack.rt.db.sessions() as session:
        bob = (await session.execute(select(Agent).where(Agent.username == "bob"))).scalar_one()
        locks = (await session.execute(select(AuditEntry).where(AuditEntry.action == "agent.locked"))).all()
    assert bob.locked_until > datetime.now(timezone.utc) and len(locks) == 1


# --- the agent-side cases run against one app on SQLite ---

@pytest_asyncio.fixture(scope="module")
async def site(nlu_pool: NluPool, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AgentStack]:
    home = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CAREBOT_SECRET_KEY", SECRET_KEY)
        # many logins from 127.0.0.1 in this module: the per-address limit is tested on its own
        async with agent_stack(nlu_pool, f"sqlite+aiosqlite:///{home / 'carebot.sqlite3'}", home,
                               CAREBOT_LOGIN_RATE_LIMIT="1000") as running:
            await running.add_agent("alice")
            yield running


@pytest_asyncio.fixture
async def browser_session(site: AgentStack) -> AsyncIterator[aiohttp.ClientSession]:
    """A logged-in agent's cookies."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await login(http, site.base, "alice")
        yield http


async def test_login_attempts_per_client_address_are_limited(site: AgentStack):
    site.rt.settings = replace(site.rt.settings, login_rate_limit=3)
    try:
        async with aiohttp.ClientSession() as http:
            async def attempt(address: str) -> tuple[int, dict]:  # the proxy in front names the client
                return await call(http, "POST", f"{site.base}/api/v1/auth/token", {"X-Forwarded-For": address},
                                  json={"username": "nobody", "password": "guess-guess"})

            first = [await attempt("198.51.100.7") for _ in range(3)]
            limited = await attempt("198.51.100.7")
            other = await attempt("203.0.113.9")
            async with http.post(f"{site.base}/login", headers={"X-Forwarded-For": "198.51.100.7"},
                                 data={"username": "alice", "password": PASSWORD}) as page:
                page_status = page.status
    finally:
        site.rt.settings = replace(site.rt.settings, login_rate_limit=1000)
    assert [status for status, _ in first] == [401, 401, 401]
    assert limited[0] == 429 and "频繁" in limited[1]["error"] and limited[1]["retry_after"] >= 1
    assert other[0] == 401  # another address is not held up
    assert page_status == 429  # the login page counts against the same address


# --- F6: after login, only to a path of this site ---

@pytest.mark.parametrize("target", ["/\t/evil.example", "/%09/evil.example", "//evil.example", "/\\evil.example",
                                    "/%5Cevil.example", "/%2F/evil.example", "https://evil.example/", "\n//evil.example",
                                    "/\n/evil.example", "/\x00/evil.example", "/\u200b/evil.example", "evil.example"])
async def test_next_after_login_never_leaves_the_site(site: AgentStack, target: str):
    assert await _login_redirect(site, target) == "/inbox"


async def test_next_after_login_keeps_a_path_of_the_site(site: AgentStack):
    assert await _login_redirect(site, "/tickets?status=open&q=%E9%80%80%E6%AC%BE") == \
        "/tickets?status=open&q=%E9%80%80%E6%AC%BE"


async def _login_redirect(site: AgentStack, target: str) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{site.base}/login") as page:
            csrf = (await page.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        async with http.post(f"{site.base}/login", allow_redirects=False, data={
                "username": "alice", "password": PASSWORD, "csrf_token": csrf, "next": target}) as response:
            assert response.status == 303, await response.text()
            return response.headers["Location"]


# --- F7: bad ids and bodies are 4xx, never 500 ---

@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/threads/99999999999999999999999"),
    ("GET", "/api/v1/threads/3000000000"),  # past PostgreSQL's integer
    ("GET", "/api/v1/threads/%D9%A1%D9%A2"),  # Arabic-Indic digits
    ("GET", "/api/v1/tickets/99999999999999999999999"),
    ("PATCH", "/api/v1/tickets/99999999999999999999999"),
    ("POST", "/api/v1/inbox/99999999999999999999999/claim"),
    ("DELETE", "/api/v1/canned/99999999999999999999999"),
    ("GET", "/api/v1/tickets?offset=9223372036854775808"),
    ("GET", "/api/v1/tickets?limit=%EF%BC%91"),  # fullwidth 1
])
async def test_ids_past_the_columns_are_a_4xx(site: AgentStack, method: str, path: str):
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, method, site.base + path, await site.token("alice"), json={"status": "open"})
    assert status == 400 and body["error"], (status, body)


@pytest.mark.parametrize("path", ["/tickets/%C2%B2", "/tickets/99999999999999999999999", "/threads/%C2%B2",
                                  "/threads/99999999999999999999999"])
async def test_pages_with_odd_ids_are_not_found(site: AgentStack, browser_session: aiohttp.ClientSession, path: str):
    async with browser_session.get(site.base + path) as response:
        assert response.status == 404, await response.text()


@pytest.mark.parametrize("body", ["[" * 5000 + "]" * 5000, '{"username": "alice", "password": NaN}',
                                  '{"username": "alice", "password": "x", "n": 1e999}'])
async def test_unauthenticated_json_that_breaks_parsers_is_a_400(site: AgentStack, body: str):
    async with aiohttp.ClientSession() as http:
        status, reply = await call(http, "POST", f"{site.base}/api/v1/auth/token", data=body,
                                   headers={"Content-Type": "application/json"})
    assert status == 400 and reply["error"], (status, reply)


@pytest.mark.parametrize("path, body, content_type", [
    ("/login", b"username=alice&password=x", "application/x-www-form-urlencoded"),
    ("/api/v1/auth/token", b'{"username": "alice", "password": "x"}', "application/json")])
async def test_a_body_that_claims_to_be_gzip_is_refused(site: AgentStack, path: str, body: bytes, content_type: str):
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        async with http.post(site.base + path, data=body, headers={
                "Content-Type": content_type, "Content-Encoding": "gzip"}) as response:
            assert response.status == 415, await response.text()


# --- F9: security headers everywhere, a header read timeout, an event stream that ends cleanly ---

@pytest.mark.parametrize("method, path", [("GET", "/login"), ("GET", "/inbox"), ("GET", "/api/v1/inbox"),
                                          ("GET", "/static/app.css"), ("GET", "/healthz"), ("GET", "/no/such/page"),
                                          ("GET", "/webhooks/wechat/brand"), ("POST", "/login")])
async def test_every_response_carries_the_security_headers(site: AgentStack, method: str, path: str):
    async with aiohttp.ClientSession() as http:
        async with http.request(method, site.base + path, allow_redirects=False) as response:
            headers = dict(response.headers)
    assert {name: headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS, (response.status, headers)
    assert SECURITY_HEADERS["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'"


async def test_a_half_sent_request_is_closed_after_the_header_timeout(site: AgentStack):
    runner = app_runner(web.Application(), replace(site.rt.settings, header_timeout=0.5))
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection(*runner.addresses[0][:2])
        writer.write(b"POST /webhooks/wechat/brand HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")  # and nothing more
        await writer.drain()
        closed = await asyncio.wait_for(reader.read(), timeout=5)  # the server hangs up: EOF
        writer.close()
    finally:
        await runner.cleanup()
    assert closed == b""


async def test_an_event_stream_whose_client_left_ends_without_an_error(site: AgentStack,
                                                                      caplog: pytest.LogCaptureFixture):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{site.base}/api/v1/events", headers=await site.token("alice")) as stream:
            assert b"event: ready" in await stream.content.readuntil(b"\n\n")
    with caplog.at_level(logging.ERROR, logger="aiohttp"):
        before = len(caplog.records)
        handoff = await site.push("转人工", "oLeavingStreamCustomer01")  # an event the stream would write
        assert handoff.reply
        assert not await wait_until(lambda: _logged_after(caplog, before), timeout=1.0), caplog.text


async def _logged_after(caplog: pytest.LogCaptureFixture, before: int) -> bool:
    return any(record.levelno >= logging.ERROR for record in caplog.records[before:])
