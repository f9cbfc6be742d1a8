"""Tickets, canned replies and presence over real HTTP against the real app (model, both
databases, background tasks); WeChat is the loopback fake."""

import aiohttp
from sqlalchemy import select, update

from bot.store.models import Account, InboxItem, Ticket
from tests.agent_stack import call, AgentStack, login, wait_until

OPENID = "oTicketApiCustomer00000001"
COMPLAINT = "收到的充电宝是坏的，质量太差了，我要投诉"


def browser() -> aiohttp.ClientSession:
    """A client that keeps cookies of 127.0.0.1 as a browser does (aiohttp's jar skips IP hosts)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def complaint(stack: AgentStack) -> str:
    result = await stack.push(COMPLAINT, OPENID)
    assert result.reply and "T" in result.reply["Content"]
    async with stack.rt.db.sessions() as session:
        return (await session.execute(select(Ticket.number))).scalar_one()


async def test_list_search_detail_and_permissions(stack: AgentStack):
    number = await complaint(stack)
    alice, olga = await stack.token("alice"), await stack.token("olga")
    api = f"{stack.base}/api/v1/tickets"
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", api, alice)
        assert status == 200 and [t["number"] for t in body["tickets"]] == [number]
        ticket = body["tickets"][0]
        assert ticket["status"] == "new" and ticket["priority"] == "high" and ticket["account"] == "brand"
        assert ticket["sla"]["first_response_due"] and ticket["sla"]["resolution_due"]
        for q in (number, OPENID[:12], "充电宝", "坏的"):  # number, customer, text of the thread
            status, body = await call(http, "GET", api, alice, params={"q": q})
            assert [t["number"] for t in body["tickets"]] == [number], q
        for params in ({"q": "没有这回事"}, {"status": "closed"}, {"priority": "low"}, {"assignee": "me"}):
            status, body = await call(http, "GET", api, alice, params=params)
            assert status == 200 and body["tickets"] == [], params
        status, body = await call(http, "GET", api, alice, params={"status": "done"})
        assert status == 400 and "status" in body["error"]
        status, body = await call(http, "GET", api, olga)
        assert status == 200 and body["tickets"] == []  # another account's agent
        status, body = await call(http, "GET", f"{api}/{ticket['id']}", olga)
        assert status == 404
        status, body = await call(http, "GET", f"{api}/{ticket['id']}")
        assert status == 401 and body["error"]
        status, body = await call(http, "GET", f"{api}/{ticket['id']}", alice)
        assert status == 200 and body["messages"][0]["text"] == COMPLAINT
        assert body["messages"][0]["intent"] and body["history"] == []
        status, doc = await call(http, "GET", f"{stack.base}/api/v1/openapi.json")
        assert {"get", "patch"} <= set(doc["paths"]["/api/v1/tickets/{id}"]) and "/api/v1/canned" in doc["paths"]


async def test_patch_validates_audits_and_pauses_the_clock(stack: AgentStack):
    await complaint(stack)
    alice = await stack.token("alice")
    async with stack.rt.db.sessions() as session:
        ticket_id = (await session.execute(select(Ticket.id))).scalar_one()
    url = f"{stack.base}/api/v1/tickets/{ticket_id}"
    async with aiohttp.ClientSession() as http:
        for body, field in (({"status": "done"}, "status"), ({"priority": 3}, "priority"), ({"number": "x"}, "number"),
                            ({"assignee": "olga"}, "assignee"), ({"category": "x" * 40}, "category")):
            status, answer = await call(http, "PATCH", url, alice, json=body)
            assert status == 422 and answer["field"] == field and answer["error"], body
        status, answer = await call(http, "PATCH", url, {**alice, "Content-Type": "application/json"}, data="{")
        assert status == 400
        status, answer = await call(http, "PATCH", url, alice, json={"status": "pending", "assignee": "bob",
                                                                     "category": "质量问题"})
        assert status == 200 and answer["status"] == "pending" and answer["assignee"] == "bob"
        assert answer["sla"]["paused"] and answer["sla"]["resolution_due"] is None
        status, answer = await call(http, "PATCH", url, alice, json={"status": "open"})
        assert answer["sla"]["resolution_due"] and not answer["sla"]["paused"]
        status, detail = await call(http, "GET", url, alice)
    assert [(h["actor"], h["after"]) for h in detail["history"]] == [
        ("alice", {"status": "pending", "category": "质量问题", "assignee_id": detail["assignee_id"]}),
        ("alice", {"status": "open"})]


async def test_ticket_pages_and_the_change_form(stack: AgentStack):
    number = await complaint(stack)
    async with browser() as http:
        csrf = await login(http, stack.base, "alice")
        status, html = await call(http, "GET", f"{stack.base}/tickets?q=充电宝")
        assert status == 200 and number in html and "工单" in html
        status, html = await call(http, "GET", f"{stack.base}/tickets/{number}")  # the thread page links by number
        assert status == 200 and COMPLAINT in html and "修改工单" in html
        async with stack.rt.db.sessions() as session:
            ticket = (await session.execute(select(Ticket))).scalar_one()
        form = {"status": "open", "priority": "urgent", "category": ticket.category, "assignee": ""}
        status, html = await call(http, "POST", f"{stack.base}/tickets/{ticket.id}", data=form)
        assert status == 403  # no CSRF token
        status, html = await call(http, "POST", f"{stack.base}/tickets/{ticket.id}", data={**form, "csrf_token": csrf})
        assert status == 200 and "修改工单" in html and "紧急" in html
        status, html = await call(http, "POST", f"{stack.base}/tickets/{ticket.id}",
                                  data={**form, "status": "bogus", "csrf_token": csrf})
        assert status == 422 and "状态必须是" in html
        status, html = await call(http, "GET", f"{stack.base}/admin/canned")
        assert status == 403  # admins only
    async with stack.rt.db.sessions() as session:
        changed = (await session.execute(select(Ticket))).scalar_one()
        item = (await session.execute(select(InboxItem))).scalar_one()
    assert (changed.status, changed.priority) == ("open", "urgent")
    assert (item.priority, item.priority_rank) == ("urgent", 3)  # the waiting item moved up with it


async def test_canned_replies_admin_api_and_search(stack: AgentStack):
    root, alice = await stack.token("root"), await stack.token("alice")
    api = f"{stack.base}/api/v1/canned"
    async with browser() as http:
        reply = {"shortcut": "refund", "title": "退款时效", "text": "退款会在 1-3 个工作日内原路退回。"}
        status, body = await call(http, "POST", api, alice, json=reply)
        assert status == 403
        status, body = await call(http, "POST", api, root, json=reply)
        assert status == 201 and body["shortcut"] == "refund"
        status, body = await call(http, "POST", api, root, json=reply)
        assert status == 422 and "已存在" in body["error"]
        status, body = await call(http, "POST", api, root, json={"shortcut": "bad one", "text": "x"})
        assert status == 422
        status, body = await call(http, "POST", api, root, json={"shortcut": "ship", "text": "今天下单明天发货"})
        for q, expected in (("ref", ["refund"]), ("发货", ["ship"]), ("", ["refund", "ship"]), ("zzz", [])):
            status, body = await call(http, "GET", api, alice, params={"q": q})
            assert status == 200 and [r["shortcut"] for r in body["replies"]] == expected, q
        status, _ = await call(http, "DELETE", f"{api}/{body['replies'][0]['id'] if body['replies'] else 1}", alice)
        assert status == 403
        csrf = await login(http, stack.base, "root")
        status, html = await call(http, "POST", f"{stack.base}/admin/canned",
                                  data={"shortcut": "hello", "text": "您好，请问有什么可以帮您？", "csrf_token": csrf})
        assert status == 200 and "/hello" in html
        status, html = await call(http, "POST", f"{stack.base}/admin/canned",
                                  data={"action": "remove", "shortcut": "refund", "csrf_token": csrf})
        assert status == 200 and "/refund" not in html
        status, body = await call(http, "GET", api, alice)
        assert [r["shortcut"] for r in body["replies"]] == ["hello", "ship"]


async def test_going_online_gets_waiting_threads_assigned(stack: AgentStack):
    async with stack.rt.db.uow() as session:
        await session.execute(update(Account).where(Account.slug == "brand").values(autoassign_capacity=1))
    alice, bob = await stack.token("alice"), await stack.token("bob")
    async with aiohttp.ClientSession() as http:
        await stack.push("转人工", OPENID)
        await stack.push("转人工", OPENID.replace("1", "2"))
        status, body = await call(http, "POST", f"{stack.base}/api/v1/agents/me/status", alice, json={"status": "busy"})
        assert status == 422
        status, body = await call(http, "POST", f"{stack.base}/api/v1/agents/me/status", alice, json={"status": "online"})
        assert status == 200

        async def assigned(expected: int) -> bool:
            async with stack.rt.db.sessions() as session:
                rows = (await session.execute(select(InboxItem.claimed_by).where(
                    InboxItem.claimed_by.is_not(None)))).scalars().all()
            return len(rows) == expected

        assert await wait_until(lambda: assigned(1), timeout=10)  # capacity 1: one thread for alice
        status, _ = await call(http, "POST", f"{stack.base}/api/v1/agents/me/status", bob, json={"status": "online"})
        assert await wait_until(lambda: assigned(2), timeout=10)
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox?view=mine", bob)
        assert len(body["items"]) == 1
