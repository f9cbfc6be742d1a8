"""The agent REST API over real HTTP against the real app (model, database on SQLite and
PostgreSQL, outbox sender); WeChat is the loopback fake."""
from datetime import timedelta

import aiohttp
from sqlalchemy import select, update

from bot.store.models import AuditEntry, Message, Thread
from tests.agent_stack import call, PASSWORD, AgentStack, login, wait_until

OPENID = "oAgentApiCustomer000000001"


async def handed_off(stack: AgentStack, http: aiohttp.ClientSession, headers) -> dict:
    result = await stack.push("转人工", OPENID)
    assert result.reply and "人工" in result.reply["Content"]
    status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox", headers)
    assert status == 200 and len(body["items"]) == 1, body
    return body["items"][0]


async def test_auth_is_required_and_tokens_work(stack: AgentStack):
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox")
        assert status == 401 and body["error"]
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox", {"Authorization": "Bearer nope"})
        assert status == 401 and "令牌" in body["error"]
        status, body = await call(http, "POST", f"{stack.base}/api/v1/auth/token",
                                  json={"username": "alice", "password": "wrong-password"})
        assert status == 401 and body["error"] == "用户名或密码错误"
        status, body = await call(http, "POST", f"{stack.base}/api/v1/auth/token",
                                  json={"username": "alice", "password": PASSWORD})
        assert status == 200 and body["token_type"] == "bearer"
        status, _ = await call(http, "GET", f"{stack.base}/api/v1/inbox",
                               {"Authorization": f"Bearer {body['token']}"})
        assert status == 200
        status, body = await call(http, "POST", f"{stack.base}/api/v1/auth/token", data="not json",
                                  headers={"Content-Type": "application/json"})
        assert status == 400
        status, body = await call(http, "POST", f"{stack.base}/api/v1/auth/token", json={"username": "alice"})
        assert status == 422 and "password" in body["error"]


async def test_repeated_failures_lock_the_agent(stack: AgentStack):
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            status, _ = await call(http, "POST", f"{stack.base}/api/v1/auth/token",
                                   json={"username": "bob", "password": "guess-guess"})
            assert status == 401
        status, body = await call(http, "POST", f"{stack.base}/api/v1/auth/token",
                                  json={"username": "bob", "password": PASSWORD})
    assert status == 401 and "次数过多" in body["error"]
    async with stack.rt.db.sessions() as session:
        actions = list((await session.execute(select(AuditEntry.action))).scalars())
    assert "agent.locked" in actions


async def test_claim_is_exclusive_and_the_whole_flow_reaches_the_customer(stack: AgentStack):
    alice, bob, root = await stack.token("alice"), await stack.token("bob"), await stack.token("root")
    async with aiohttp.ClientSession() as http:
        item = await handed_off(stack, http, alice)
        assert item["reason"] == "requested_human" and item["account"] == "brand" and item["claimed_by"] is None
        thread = item["thread_id"]
        status, body = await call(http, "POST", f"{stack.base}/api/v1/threads/{thread}/reply", bob, json={"text": "hi"})
        assert status == 409 and body["error"] == "请先接手该会话"

        status, body = await call(http, "POST", f"{stack.base}/api/v1/inbox/{item['id']}/claim", alice)
        assert status == 200 and body["thread_id"] == thread
        status, body = await call(http, "POST", f"{stack.base}/api/v1/inbox/{item['id']}/claim", bob)
        assert status == 409 and body == {"error": "已被 Alice 接手", "holder": "Alice"}
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox", bob)
        assert body["items"] == []  # claimed items leave the unassigned view
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox?view=mine", alice)
        assert [i["id"] for i in body["items"]] == [item["id"]]

        status, body = await call(http, "POST", f"{stack.base}/api/v1/threads/{thread}/reply", bob, json={"text": "x"})
        assert status == 409 and "Alice" in body["error"]
        status, body = await call(http, "POST", f"{stack.base}/api/v1/threads/{thread}/reply", alice,
                                  json={"text": "您好，我是客服 Alice"})
        assert status == 202 and body["state"] == "queued"
        message_id = body["id"]
        assert await wait_until(lambda: _delivered(stack, "您好，我是客服 Alice"))

        async def sent() -> bool:
            status, view = await call(http, "GET", f"{stack.base}/api/v1/threads/{thread}", alice)
            return any(m["id"] == message_id and m["state"] == "sent" for m in view["messages"])
        assert await wait_until(sent)

        status, body = await call(http, "POST", f"{stack.base}/api/v1/threads/{thread}/notes", alice,
                                  json={"text": "客户很着急"})
        assert status == 201
        status, view = await call(http, "GET", f"{stack.base}/api/v1/threads/{thread}", alice)
        kinds = [m["kind"] for m in view["messages"]]
        assert kinds[0] == "customer" and "bot" in kinds and kinds[-2:] == ["agent", "note"]
        assert view["messages"][0]["intent"] and view["window"]["messages_left"] == 4
        assert not any(d.content == "客户很着急" for d in stack.api.delivered)  # notes are never sent

        status, body = await call(http, "POST", f"{stack.base}/api/v1/threads/{thread}/transfer", alice,
                                  json={"to": "olga"})
        assert status == 422  # olga does not work for this account
        status, body = await call(http, "POST", f"{stack.base}/api/v1/threads/{thread}/transfer", alice,
                                  json={"to": "bob"})
        assert status == 200
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox?view=mine", bob)
        assert [i["claimed_by"] for i in body["items"]] == ["Bob"]
        status, body = await call(http, "POST", f"{stack.base}/api/v1/threads/{thread}/release", bob)
        assert status == 200
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox", alice)
        assert body["items"][0]["claimed_by"] is None

        status, body = await call(http, "POST", f"{stack.base}/api/v1/threads/{thread}/resolve", root)
        assert status == 200 and body["owner"] == "bot"  # admins may act on any thread
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox?view=all", alice)
        assert body["items"] == []
    result = await stack.push("运费多少 满多少包邮", OPENID)
    assert result.reply and "运费" in result.reply["Content"] or "包邮" in result.reply["Content"]
    async with stack.rt.db.sessions() as session:
        owner = (await session.execute(select(Thread.owner))).scalar_one()
        actions = list((await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars())
    assert owner == "bot"
    assert [a for a in actions if a.startswith(("inbox.", "thread."))] == [
        "inbox.claim", "thread.reply", "thread.note", "thread.transfer", "thread.release", "thread.resolve"]


async def _delivered(stack: AgentStack, text: str) -> bool:
    return any(d.content == text and d.openid == OPENID for d in stack.api.delivered)


async def test_accounts_limit_what_agents_see(stack: AgentStack):
    alice, olga, root = await stack.token("alice"), await stack.token("olga"), await stack.token("root")
    async with aiohttp.ClientSession() as http:
        item = await handed_off(stack, http, alice)
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox", olga)
        assert status == 200 and body["items"] == []
        status, body = await call(http, "GET", f"{stack.base}/api/v1/threads/{item['thread_id']}", olga)
        assert status == 404
        status, body = await call(http, "POST", f"{stack.base}/api/v1/inbox/{item['id']}/claim", olga)
        assert status == 404
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox", root)
        assert len(body["items"]) == 1
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox?view=bogus", alice)
        assert status == 400 and "view" in body["error"]
        status, body = await call(http, "GET", f"{stack.base}/api/v1/threads/abc", alice)
        assert status == 400


async def test_reply_outside_the_window_is_refused_with_the_reason(stack: AgentStack):
    alice = await stack.token("alice")
    async with aiohttp.ClientSession() as http:
        item = await handed_off(stack, http, alice)
        await call(http, "POST", f"{stack.base}/api/v1/inbox/{item['id']}/claim", alice)
        async with stack.rt.db.uow() as session:
            thread = await session.get(Thread, item["thread_id"])
            await session.execute(update(Thread).where(Thread.id == thread.id).values(
                last_inbound_at=thread.last_inbound_at - timedelta(hours=49)))
        url = f"{stack.base}/api/v1/threads/{item['thread_id']}/reply"
        status, body = await call(http, "POST", url, alice, json={"text": "晚了"})
        assert status == 422 and "48 小时" in body["error"]
        status, body = await call(http, "POST", url, alice, json={"text": "   "})
        assert status == 422
        status, body = await call(http, "POST", url, alice, json=["text"])
        assert status == 400
    async with stack.rt.db.sessions() as session:
        assert (await session.execute(select(Message).where(Message.author == "agent"))).first() is None


async def test_pages_need_a_session_and_csrf(stack: AgentStack):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # cookies for 127.0.0.1
        async with http.get(f"{stack.base}/inbox", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"].startswith("/login")
        async with http.post(f"{stack.base}/login", data={"username": "alice", "password": PASSWORD,
                                                          "csrf_token": "forged"}) as response:
            assert response.status == 401 and "过期" in await response.text()
        csrf = await login(http, stack.base, "alice")
        cookie = next(c for c in http.cookie_jar if c.key == "carebot_session")
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
        item = await handed_off(stack, http, None)  # the session cookie authenticates the API too
        claim = f"{stack.base}/api/v1/inbox/{item['id']}/claim"
        status, body = await call(http, "POST", claim)
        assert status == 403 and "CSRF" in body["error"]
        status, body = await call(http, "POST", claim, {"X-CSRF-Token": csrf})
        assert status == 200
        async with http.get(f"{stack.base}/threads/{item['thread_id']}") as response:
            html = await response.text()
            assert response.status == 200 and "转人工" in html and "内部备注" in html
        async with http.post(f"{stack.base}/logout", data={"csrf_token": csrf}, allow_redirects=False) as response:
            assert response.status == 303
        async with http.get(f"{stack.base}/inbox", allow_redirects=False) as response:
            assert response.status == 303


async def test_secure_cookie_behind_tls(stack: AgentStack):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.base}/login", headers={"X-Forwarded-Proto": "https"}) as response:
            assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


async def test_openapi_document_lists_the_routes(stack: AgentStack):
    async with aiohttp.ClientSession() as http:
        status, doc = await call(http, "GET", f"{stack.base}/api/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    for path in ("/api/v1/inbox", "/api/v1/inbox/{id}/claim", "/api/v1/threads/{id}", "/api/v1/threads/{id}/reply",
                 "/api/v1/threads/{id}/notes", "/api/v1/threads/{id}/transfer", "/api/v1/threads/{id}/release",
                 "/api/v1/threads/{id}/resolve", "/api/v1/auth/token"):
        assert path in doc["paths"], path
    assert "409" in doc["paths"]["/api/v1/inbox/{id}/claim"]["post"]["responses"]
