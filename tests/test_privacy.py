"""PIPL: export and erase of a customer (API and CLI), and the retention purge; on SQLite and PostgreSQL,
with the real app and model (WeChat is the loopback fake)."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import JSON, Integer, String, func, select, text, update

from bot.conversation.messages import InboundMessage
from bot.conversation.pipeline import Conversation
from bot.desk import misses as desk_misses
from bot.desk import privacy as desk_privacy
from bot.desk import retention
from bot.nlu.pool import NluPool
from bot.runtime import database
from bot.settings import Settings
from bot.store import audit, outbox, privacy
from bot.store.db import Database
from bot.store.models import (Account, AuditEntry, Base, Customer, IntentExample, Message, Miss, OutboxItem, RadarTerm,
                              Thread, Ticket)
from tests.agent_stack import AgentStack, call, login, staffed_stack, wait_until
from tests.conftest import carebot_env, make_settings, run_carebot

ALICE_OPENID, LINKED_OPENID, OTHER_OPENID = "oPrivacyAlice00000000000001", "oPrivacyLinked0000000000001", "oPrivacyBob0000000000000001"
MISS_TEXT = "明天天气怎么样啊"
COMPLAINT = "我要投诉！买的充电器用了三天就冒烟了，快给我处理"
LINKED_TEXT = "在吗在吗，我在另一个号上也找过你们"
REPLY = "王先生您好，我们马上为您更换充电器"
NOTE = "客户电话13812345678，住杭州西湖区"
QUEUED = "这条回复还在发件箱里没有发出"
NICKNAME = "王小明的微信昵称"
UNIONID = "oUnionPrivacyAlice000000001"
PERSON_NOTE = "王先生，老客户，上次投诉过耳机"
OTHER_TEXT = "你好，我想问一下退款多久到账"

# string columns of the owned tables that hold no free text and no platform id (states, kinds, names of
# intents): an erase keeps them. A new string column of an owned table must be put here or in ERASE.
KEPT = {
    "customers": {"platform"},
    "threads": {"owner"},
    "messages": {"direction", "author", "msg_type", "intent", "action", "ranking"},
    "tickets": {"number", "category", "priority", "status"},
    "inbox": {"reason", "priority"},
    "misses": {"kind", "action", "intent", "flagged_by", "label", "resolved_by"},
}


def test_every_table_that_references_customers_has_an_erase_rule():
    """A table (or a text column) added later that points at customers, threads, messages or tickets
    must say what an erase does to it: export finds it by itself, erase must not skip it."""
    owned = privacy.owned_tables()
    assert {"customers", "threads", "messages", "tickets", "inbox", "outbox", "csat_ratings", "misses"} <= set(owned)
    assert set(owned) == set(privacy.ERASE) | privacy.DELETED, "add the new table to bot.store.privacy.ERASE"
    assert not set(privacy.ERASE) & privacy.DELETED
    for name in owned:
        table = Base.metadata.tables[name]
        assert [c.name for c in table.primary_key.columns] == ["id"] and isinstance(table.c.id.type, Integer)
        if name in privacy.DELETED:
            continue
        assert set(privacy.ERASE[name]) <= set(table.c.keys()), name
        texts = {c.name for c in table.columns if isinstance(c.type, (String, JSON))}
        unclassified = texts - set(privacy.ERASE[name]) - KEPT.get(name, set())
        assert not unclassified, f"{name}: say in ERASE (or KEPT here) what an erase does to {unclassified}"


def test_retention_settings():
    assert Settings.from_env({"CAREBOT_HOME": "/tmp"}).retention_days == 0  # keep forever
    assert Settings.from_env({"CAREBOT_HOME": "/tmp", "CAREBOT_RETENTION_DAYS": "90"}).retention_days == 90
    for bad in ({"CAREBOT_RETENTION_DAYS": "-1"}, {"CAREBOT_RETENTION_DAYS": "x"}, {"CAREBOT_RETENTION_INTERVAL": "0"}):
        with pytest.raises(ValueError, match="CAREBOT_RETENTION"):
            Settings.from_env({"CAREBOT_HOME": "/tmp", **bad})


async def leftovers(db: Database, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) wherever a needle occurs in any string or JSON column of any table."""
    found = []
    async with db.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, JSON))]
            if not columns:
                continue
            for row in await session.execute(select(*columns)):
                for column, value in zip(columns, row):
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    found += [(table.name, column.name, needle) for needle in needles if needle in text]
    return found


async def customer_id(stack: AgentStack, external_id: str) -> int:
    async with stack.rt.db.sessions() as session:
        return (await session.execute(select(Customer.id).where(Customer.external_id == external_id))).scalar_one()


async def queue_unsent_reply(stack: AgentStack, cid: int, due_in: timedelta) -> None:
    """A reply waiting in the outbox (due a little later), as the sender would find it."""
    now = datetime.now(timezone.utc)
    async with stack.rt.db.uow() as session:
        thread = (await session.execute(select(Thread).where(Thread.customer_id == cid))).scalar_one()
        message = Message(thread_id=thread.id, direction="out", author="agent", text=QUEUED, state="queued",
                          created_at=now)
        session.add(message)
        await session.flush()
        for item in await outbox.enqueue(session, message, [QUEUED], now):
            item.next_attempt_at = now + due_in
        await session.execute(update(Customer).where(Customer.id == cid).values(nickname=NICKNAME, unionid=UNIONID,
                                                                               unionid_state="found"))


async def test_export_and_erase_over_the_api(stack: AgentStack):
    await stack.push(MISS_TEXT, ALICE_OPENID)
    await stack.push(COMPLAINT, ALICE_OPENID)
    await stack.push(LINKED_TEXT, LINKED_OPENID, slug="other")
    await stack.push(OTHER_TEXT, OTHER_OPENID)
    mine, linked, other = [await customer_id(stack, o) for o in (ALICE_OPENID, LINKED_OPENID, OTHER_OPENID)]
    async with stack.rt.db.sessions() as session:
        miss = (await session.execute(select(Miss).where(Miss.text == MISS_TEXT))).scalar_one()
    await desk_misses.label(stack.rt.db, stack.rt.settings, [miss.id], "out_of_scope", actor="root",
                            now=datetime.now(timezone.utc))  # the customer's words become training data
    alice, root = await stack.token("alice"), await stack.token("root")
    api, base = f"{stack.base}/api/v1/customers", f"{stack.base}/api/v1"
    async with aiohttp.ClientSession() as http:
        assert (await call(http, "POST", f"{api}/{mine}/links", root, json={"customer_id": linked}))[0] == 200
        assert (await call(http, "PATCH", f"{api}/{mine}", alice, json={"tags": ["VIP"], "note": PERSON_NOTE}))[0] == 200
        status, body = await call(http, "GET", f"{base}/inbox", alice)
        item = next(i for i in body["items"] if i["reason"] == "complaint")
        thread = item["thread_id"]
        assert (await call(http, "POST", f"{base}/inbox/{item['id']}/claim", alice))[0] == 200
        assert (await call(http, "POST", f"{base}/threads/{thread}/reply", alice, json={"text": REPLY}))[0] == 202
        assert (await call(http, "POST", f"{base}/threads/{thread}/notes", alice, json={"text": NOTE}))[0] == 201
        assert await wait_until(lambda: delivered(stack, REPLY))
        await queue_unsent_reply(stack, mine, timedelta(seconds=2))
        status, report_before = await call(http, "GET", f"{base}/reports/summary", root)
        assert status == 200 and report_before["complaints"] == 1

        audit_before = await audit_count(stack)
        for who, url, expected in ((alice, f"{api}/{mine}/export", 403), (root, f"{api}/999999/export", 404),
                                   (root, f"{api}/abc/export", 400)):
            status, body = await call(http, "GET", url, who)
            assert status == expected and body["error"], (url, status, body)
        for who, url, expected in ((alice, f"{api}/{mine}/erase", 403), (root, f"{api}/999999/erase", 404)):
            status, body = await call(http, "POST", url, who)
            assert status == expected and body["error"], (url, status, body)
        assert await audit_count(stack) == audit_before  # refused: nothing written, nothing erased

        async with http.get(f"{api}/{mine}/export", headers=root) as response:
            assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
            document = await response.json()
        tables = document["tables"]
        assert document["customer_ids"] == sorted([mine, linked]) and set(privacy.owned_tables()) <= set(tables)
        assert {c["external_id"] for c in tables["customers"]} == {ALICE_OPENID, LINKED_OPENID}
        texts = {m["text"] for m in tables["messages"]}
        assert {MISS_TEXT, COMPLAINT, LINKED_TEXT, REPLY, NOTE, QUEUED} <= texts and OTHER_TEXT not in texts
        assert [t["summary"] for t in tables["tickets"]] == [COMPLAINT] and tables["inbox"]
        assert [m["text"] for m in tables["misses"]] == [MISS_TEXT] and any(o["payload"]["text"] == QUEUED
                                                                            for o in tables["outbox"])
        assert tables["people"][0]["note"] == PERSON_NOTE and {a["slug"] for a in tables["accounts"]} == {"brand", "other"}
        assert {"customer.link", "customer.update", "thread.reply", "thread.note", "miss.label"} <= {
            e["action"] for e in tables["audit_log"]}

        status, body = await call(http, "POST", f"{api}/{linked}/erase", root)  # any identity: the whole person
        assert status == 200 and body["customer_ids"] == sorted([mine, linked]) and body["changed"]["messages"] >= 6
        status, body = await call(http, "POST", f"{api}/{mine}/erase", root)
        assert status == 409 and "已经删除" in body["error"]

        needles = [MISS_TEXT, COMPLAINT, LINKED_TEXT, REPLY, NOTE, QUEUED, NICKNAME, UNIONID, PERSON_NOTE,
                   ALICE_OPENID, LINKED_OPENID]
        assert await leftovers(stack.rt.db, needles) == []
        assert len(await leftovers(stack.rt.db, [OTHER_TEXT, OTHER_OPENID])) >= 2  # another customer's data stays

        status, report_after = await call(http, "GET", f"{base}/reports/summary", root)
        for figure in ("complaints", "complaints_by_priority", "messages_in", "conversations", "handoffs"):
            assert report_after[figure] == report_before[figure], figure
        status, body = await call(http, "POST", f"{base}/threads/{thread}/reply", alice, json={"text": "还在吗"})
        assert status == 422 and "删除" in body["error"]
        status, body = await call(http, "GET", f"{base}/threads/{thread}", alice)  # the open ticket stays, anonymous
        assert status == 200 and {m["text"] for m in body["messages"]} <= {privacy.MARKER, ""}

    async with stack.rt.db.sessions() as session:
        ticket = (await session.execute(select(Ticket).where(Ticket.customer_id == mine))).scalar_one()
        assert ticket.status != "resolved" and ticket.summary == privacy.MARKER and ticket.priority
        erased = (await session.execute(select(AuditEntry).where(AuditEntry.action == "customer.erase"))).scalar_one()
        assert erased.actor == "root" and erased.after["customer_ids"] == sorted([mine, linked])
        assert (await session.execute(select(OutboxItem.state).where(OutboxItem.recipient == privacy.MARKER,
                                                                     OutboxItem.state == "failed"))).first()
        assert not (await session.execute(select(IntentExample).where(IntentExample.text == MISS_TEXT))).first()
    await asyncio.sleep(2.5)  # past the queued reply's due time: it was cancelled, not sent
    assert not await delivered(stack, QUEUED)


async def delivered(stack: AgentStack, text: str) -> bool:
    return any(d.content == text for d in stack.api.delivered)


async def audit_count(stack: AgentStack) -> int:
    async with stack.rt.db.sessions() as session:
        return (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one()


async def test_customer_cli_export_erase_and_purge(conversation: Conversation, database_url: str, tmp_path: Path):
    await conversation.handle(InboundMessage("console", "console", "privacy-cli", COMPLAINT))
    async with conversation.db.sessions() as session:
        cid = (await session.execute(select(Customer.id).where(Customer.external_id == "privacy-cli"))).scalar_one()
    env = carebot_env(tmp_path, database_url)

    exported = run_carebot(["customer", "export", str(cid)], env)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert document["customer_ids"] == [cid] and COMPLAINT in {m["text"] for m in document["tables"]["messages"]}
    for args, message in ((["customer", "erase", str(cid)], "--yes"), (["customer", "erase", "999999", "--yes"], "不存在"),
                          (["customer", "export", "999999"], "不存在"), (["purge"], "CAREBOT_RETENTION_DAYS")):
        refused = run_carebot(args, env)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)
    assert await leftovers(conversation.db, [COMPLAINT])  # the refusals changed nothing

    erased = run_carebot(["customer", "erase", str(cid), "--yes"], env)
    assert erased.returncode == 0 and "anonymous" in erased.stdout, erased.stderr
    assert await leftovers(conversation.db, [COMPLAINT, "privacy-cli"]) == []
    again = run_carebot(["customer", "erase", str(cid), "--yes"], env)
    assert again.returncode == 2 and "已经删除" in again.stderr
    purged = run_carebot(["purge", "--days", "1"], env)
    assert purged.returncode == 0 and "purged the text of 0 messages and 0 tickets" in purged.stdout, purged.stderr


# --- retention ---

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


async def seed_history(db: Database, now: datetime) -> dict[str, int]:
    """One customer's messages of various ages and states, a miss and outbox items: their ids by name."""
    old, recent = now - timedelta(days=40), now - timedelta(days=10)
    async with db.uow() as session:
        account = Account(platform="wechat", slug="retention", name="")
        session.add(account)
        await session.flush()
        customer = Customer(account_id=account.id, platform="wechat", external_id="oRetention0001")
        session.add(customer)
        await session.flush()
        thread = Thread(account_id=account.id, customer_id=customer.id)
        session.add(thread)
        await session.flush()
        rows = {"old_in": Message(thread_id=thread.id, direction="in", author="customer", text="四十天前的消息",
                                  state="handled", created_at=old, raw={"Content": "四十天前的消息"}),
                "old_out": Message(thread_id=thread.id, direction="out", author="bot", text="四十天前的回复",
                                   state="sent", created_at=old),
                "old_event": Message(thread_id=thread.id, direction="in", author="customer", msg_type="event",
                                     text="", state="handled", created_at=old, raw={"Event": "subscribe"}),
                "old_undecided": Message(thread_id=thread.id, direction="in", author="customer", text="还没处理的旧消息",
                                         state="undecided", created_at=old),
                "recent": Message(thread_id=thread.id, direction="in", author="customer", text="十天前的消息",
                                  state="handled", created_at=recent)}
        session.add_all(rows.values())
        await session.flush()
        session.add(Miss(message_id=rows["old_in"].id, account_id=account.id, thread_id=thread.id, kind="decline",
                         text="四十天前的消息", key="四十天前的消息", created_at=old))
        session.add(OutboxItem(message_id=rows["old_out"].id, account_id=account.id, recipient="oRetention0001",
                               payload={"text": "四十天前的回复", "part": 0}, state="sent", created_at=old))
        tickets = {"old_closed": Ticket(number="T-R1", thread_id=thread.id, status="resolved",
                                        customer_id=customer.id, summary="四十天前的投诉", created_at=old),
                   "old_open": Ticket(number="T-R2", thread_id=thread.id, status="open",
                                      customer_id=customer.id, summary="还在处理的旧投诉", created_at=old),
                   "recent_closed": Ticket(number="T-R3", thread_id=thread.id,
                                           status="closed", customer_id=customer.id, summary="十天前的投诉",
                                           created_at=recent)}
        session.add_all(tickets.values())
        await session.flush()
        session.add_all([RadarTerm(message_id=rows[name].id, term=term, account_id=account.id, thread_id=thread.id,
                                   at=rows[name].created_at) for name, term in (("old_in", "四十天前"), ("recent", "十天前"))])
        miss = (await session.execute(select(Miss.id).where(Miss.message_id == rows["old_in"].id))).scalar_one()
        for entity, entity_id, action, after in (
                ("message", rows["old_out"].id, "thread.reply", {"thread_id": thread.id, "text": "四十天前的回复"}),
                ("miss", miss, "miss.label", {"status": "labelled", "label": "greet", "example": "四十天前的消息"}),
                ("message", rows["recent"].id, "thread.note", {"thread_id": thread.id, "text": "十天前的消息"})):
            await audit.record(session, "alice", action, entity, entity_id, after=after, now=old)
        return {name: row.id for name, row in (rows | tickets).items()}


async def texts(db: Database) -> dict[int, tuple[str, Any]]:
    async with db.sessions() as session:
        return {row.id: (row.text, row.raw) for row in await session.execute(select(Message.id, Message.text, Message.raw))}


@pytest_asyncio.fixture
async def plain_db(database_url: str, tmp_path: Path):
    async with database(make_settings(tmp_path, database_url)) as db:
        yield db


async def test_retention_purges_old_text_in_batches(plain_db: Database):
    ids = await seed_history(plain_db, NOW)
    assert await retention.purge(plain_db, 0, NOW) == {"messages": 0, "tickets": 0}  # 0: keep forever
    assert await retention.purge(plain_db, 30, NOW, batch=2) == {"messages": 3, "tickets": 1}  # two batches
    after = await texts(plain_db)
    assert after[ids["old_in"]] == (privacy.MARKER, None) and after[ids["old_out"]][0] == privacy.MARKER
    assert after[ids["old_event"]] == ("", None)  # nothing to mark, the raw push is gone
    assert after[ids["old_undecided"]][0] == "还没处理的旧消息" and after[ids["recent"]][0] == "十天前的消息"
    # the miss, the outbox copy, the reply's and the label's audit entries, the radar's term (kept for
    # its trailing 7 days otherwise) and the closed ticket too
    assert await leftovers(plain_db, ["四十天前"]) == []
    async with plain_db.sessions() as session:
        assert (await session.execute(select(RadarTerm.term))).scalars().all() == ["十天前"]
    assert await summaries(plain_db) == {ids["old_closed"]: privacy.MARKER, ids["old_open"]: "还在处理的旧投诉",
                                         ids["recent_closed"]: "十天前的投诉"}
    assert len(await leftovers(plain_db, ["十天前的消息"])) == 2  # the recent message and its note's entry stay
    assert await retention.purge(plain_db, 30, NOW) == {"messages": 0, "tickets": 0}  # the next run does nothing
    assert await retention.purge(plain_db, 5, NOW) == {"messages": 1, "tickets": 1}  # a shorter one reaches more
    assert await leftovers(plain_db, ["十天前"]) == []


async def summaries(db: Database) -> dict[int, str]:
    async with db.sessions() as session:
        return dict((await session.execute(select(Ticket.id, Ticket.summary))).all())


async def test_servers_purging_at_once_share_the_work(plain_db: Database):
    """Several servers purge at the same moment: each batch skips the rows another holds (PostgreSQL),
    none fails or waits for the other, and together they purge every old message (once each on
    PostgreSQL; SQLite has one writer at a time, so they take turns)."""
    ids = await seed_history(plain_db, NOW)
    async with plain_db.uow() as session:
        thread = (await session.execute(select(Message.thread_id).where(Message.id == ids["old_in"]))).scalar_one()
        session.add_all(Message(thread_id=thread, direction="in", author="customer", text=f"四十天前的第{n}条",
                                state="handled", created_at=NOW - timedelta(days=40)) for n in range(120))
    runs = await asyncio.gather(*(retention.purge(plain_db, 30, NOW, batch=7) for _ in range(3)))
    assert await leftovers(plain_db, ["四十天前"]) == []
    total = sum(run["messages"] for run in runs)
    assert total == 123 if not plain_db.is_sqlite else total >= 123


@pytest_asyncio.fixture
async def retention_stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    async with staffed_stack(nlu_pool, database_url, tmp_path, monkeypatch, {}, CAREBOT_RETENTION_DAYS="30",
                             CAREBOT_RETENTION_INTERVAL="0.2") as running:
        yield running


async def test_every_server_purges_in_the_background(retention_stack: AgentStack):
    stack = retention_stack
    await stack.push("很久以前说的话", ALICE_OPENID)
    await stack.push("今天说的话", ALICE_OPENID)
    async with stack.rt.db.uow() as session:
        await session.execute(update(Message).where(Message.text == "很久以前说的话")
                              .values(created_at=datetime.now(timezone.utc) - timedelta(days=31)))

    async def purged() -> bool:
        return await leftovers(stack.rt.db, ["很久以前说的话"]) == []
    assert await wait_until(purged)
    assert await leftovers(stack.rt.db, ["今天说的话"])


# a database trigger (real SQL, no mock) that refuses to change tickets: the erase fails half-way through
REFUSE_TICKET_UPDATES = {
    "sqlite": ["CREATE TRIGGER refuse_tickets BEFORE UPDATE ON tickets BEGIN SELECT RAISE(ABORT, 'refused'); END"],
    "postgresql": ["CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
                   "LANGUAGE plpgsql",
                   "CREATE TRIGGER refuse_tickets BEFORE UPDATE ON tickets FOR EACH ROW EXECUTE FUNCTION refuse()"]}


async def test_an_erase_that_fails_half_way_changes_nothing(plain_db: Database):
    """One transaction: the identities and messages (erased before the tickets) come back too."""
    await seed_history(plain_db, NOW)
    async with plain_db.uow() as session:
        cid = (await session.execute(select(Customer.id).where(Customer.external_id == "oRetention0001"))).scalar_one()
        for statement in REFUSE_TICKET_UPDATES[session.get_bind().dialect.name]:
            await session.execute(text(statement))
    needles = ["oRetention0001", "四十天前的消息", "四十天前的回复", "四十天前的投诉"]
    before = await leftovers(plain_db, needles)
    assert {table for table, _, _ in before} >= {"customers", "messages", "misses", "outbox", "audit_log", "tickets"}
    with pytest.raises(Exception, match="refused"):
        async with plain_db.uow() as session:
            await desk_privacy.erase_customers(session, [cid], actor="root", now=NOW)
    assert await leftovers(plain_db, needles) == before
    async with plain_db.sessions() as session:
        assert not (await session.execute(select(AuditEntry).where(AuditEntry.action == "customer.erase"))).first()


async def test_an_admin_exports_and_erases_from_the_profile_page(stack: AgentStack):
    """The profile page's PIPL card: admins only, an erase only when confirmed, and then nothing of
    the customer's words is left; the same service as the API."""
    await stack.push(COMPLAINT, ALICE_OPENID)
    mine = await customer_id(stack, ALICE_OPENID)
    page = f"{stack.base}/customers/{mine}"
    jar = lambda: aiohttp.CookieJar(unsafe=True)  # noqa: E731 (cookies for 127.0.0.1)
    async with aiohttp.ClientSession(cookie_jar=jar()) as agent, aiohttp.ClientSession(cookie_jar=jar()) as admin:
        agent_csrf = await login(agent, stack.base, "alice")
        agent_page = await (await agent.get(page)).text()
        assert "erase-form" not in agent_page and COMPLAINT in agent_page
        assert (await agent.get(f"{page}/export")).status == 403
        csrf = await login(admin, stack.base, "root")
        assert 'id="erase-form"' in await (await admin.get(page)).text()
        async with admin.get(f"{page}/export") as response:
            assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
            assert COMPLAINT in {m["text"] for m in (await response.json())["tables"]["messages"]}
        erase = {"csrf_token": csrf, "action": "erase"}
        async with admin.post(page, data=erase) as response:  # not confirmed: refused, shown on the page
            assert response.status == 422 and "确认删除" in await response.text()
        assert await leftovers(stack.rt.db, [COMPLAINT]) != []
        async with agent.post(page, data={**erase, "confirm": "yes", "csrf_token": agent_csrf}) as response:
            assert response.status == 403
        async with admin.post(page, data={**erase, "confirm": "yes"}) as response:
            assert response.status == 200 and str(response.url).endswith(f"/customers/{mine}")
            assert COMPLAINT not in await response.text()
        assert await leftovers(stack.rt.db, [COMPLAINT, ALICE_OPENID]) == []
        async with admin.post(page, data={**erase, "confirm": "yes"}) as response:
            assert response.status == 409 and "已经删除" in await response.text()
