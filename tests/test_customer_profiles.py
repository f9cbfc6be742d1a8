"""Customer profiles and identity linking over the real app (model, SQLite and PostgreSQL,
outbox sender); WeChat and Weibo are the loopback fakes."""
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import func, select, update

from bot.desk.stated_numbers import extract, looks_like_number
from bot.nlu.pool import NluPool
from bot.store import people
from bot.store.models import Account, AuditEntry, Customer, Person, Thread
from tests.agent_stack import APPID, OTHER_APPID, AgentStack, call, staffed_stack, wait_until

ALICE_OPENID, OTHER_OPENID, THIRD_OPENID = "oProfileBrand000000000001", "oProfileOther000000000001", "oProfileBrand0000000002"
FAN = 2489518299
UNIONID = "oUnion_person_000000000000001"


async def customer_id(stack: AgentStack, external_id: str) -> int:
    async with stack.rt.db.sessions() as session:
        return (await session.execute(select(Customer.id).where(Customer.external_id == external_id))).scalar_one()


async def audit_count(stack: AgentStack) -> int:
    async with stack.rt.db.sessions() as session:
        return (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one()


async def linked(stack: AgentStack, cid: int) -> list[int]:
    async with stack.rt.db.sessions() as session:
        return await people.linked_customer_ids(session, cid)


def test_stated_numbers_are_conservative():
    found = extract(["我的手机13812345678，订单号：e20261121123456", "工单号 T20261121-0007 怎么样了",
                     "电话 12345678901", "订单 123", "淘宝订单 2026112112345678901", "１３９１２３４５６７８"])
    assert found.phones == ["13812345678", "13912345678"]
    assert found.orders == ["E20261121123456", "2026112112345678901"]
    assert not extract(["订单号是13812345678"]).orders  # a phone number is not also an order number
    assert looks_like_number("13812345678") and looks_like_number("E20261121123456")
    assert not looks_like_number("小王") and not looks_like_number("abc")


async def test_profile_link_edit_unlink_and_bad_input(stack: AgentStack):
    await stack.push("你好，我的手机是13812345678，订单号 E20261121123456", ALICE_OPENID)
    await stack.push("你好", OTHER_OPENID, slug="other")
    await stack.push("你好", THIRD_OPENID)
    mine, other, third = [await customer_id(stack, o) for o in (ALICE_OPENID, OTHER_OPENID, THIRD_OPENID)]
    alice, root = await stack.token("alice"), await stack.token("root")
    api = f"{stack.base}/api/v1/customers"
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", f"{api}/{mine}", alice)
        assert status == 200 and [i["id"] for i in body["identities"]] == [mine] and body["person_id"] is None
        assert body["stated"] == {"phones": ["13812345678"], "orders": ["E20261121123456"]}
        assert [e["kind"] for e in body["timeline"]] == ["thread"] and body["tags"] == [] and body["note"] == ""
        assert (await call(http, "GET", f"{api}/{other}", alice))[0] == 404  # another account's customer
        status, body = await call(http, "GET", f"{api}?q=13812345678", alice)  # by a stated number
        assert status == 200 and [c["id"] for c in body["customers"]] == [mine]

        before = await audit_count(stack)
        for payload, expected in (({"customer_id": mine}, 422), ({"customer_id": "2"}, 422),
                                  ({"customer_id": True}, 422), ({"customer_id": 999999}, 404), ({}, 422)):
            status, body = await call(http, "POST", f"{api}/{mine}/links", root, json=payload)
            assert status == expected and body["error"], (payload, status, body)
        status, _ = await call(http, "POST", f"{api}/{mine}/links", {**root, "Content-Type": "application/json"},
                               data="{")
        assert status == 400
        assert (await call(http, "POST", f"{api}/{mine}/links", alice, json={"customer_id": other}))[0] == 404
        assert await audit_count(stack) == before and await linked(stack, mine) == [mine]

        status, body = await call(http, "POST", f"{api}/{mine}/links", root, json={"customer_id": other})
        assert status == 200 and sorted(i["id"] for i in body["identities"]) == [mine, other]
        status, body = await call(http, "POST", f"{api}/{third}/links", root, json={"customer_id": other})
        assert status == 200 and await linked(stack, other) == sorted([mine, other, third])
        for a, b in ((mine, other), (other, third), (third, mine)):  # a cycle or a repeat: nothing to do
            status, body = await call(http, "POST", f"{api}/{a}/links", root, json={"customer_id": b})
            assert status == 409 and "同一个人" in body["error"]
        status, body = await call(http, "GET", f"{api}/{mine}", alice)  # the other account's identity is hidden
        assert sorted(i["id"] for i in body["identities"]) == [mine, third] and body["hidden_identities"] == 1

        status, body = await call(http, "PATCH", f"{api}/{mine}", alice, json={"tags": ["VIP", "<b>x</b>"]})
        assert status == 422 and "符号" in body["error"]
        for payload in ({}, {"tags": "VIP"}, {"tags": ["a" * 21]}, {"note": 5}, {"colour": "red"},
                        {"tags": [str(i) for i in range(21)]}):
            assert (await call(http, "PATCH", f"{api}/{mine}", alice, json=payload))[0] == 422, payload
        status, body = await call(http, "PATCH", f"{api}/{mine}", alice,
                                  json={"tags": ["VIP", " 高风险 ", "VIP", ""], "note": "<script>1</script> 老客户"})
        assert status == 200 and body["tags"] == ["VIP", "高风险"] and body["note"] == "<script>1</script> 老客户"
        status, body = await call(http, "GET", f"{api}/{other}", root)  # one person: the same tags everywhere
        assert body["tags"] == ["VIP", "高风险"]
        status, body = await call(http, "GET", f"{stack.base}/api/v1/threads/{body['identities'][1]['thread_id']}", root)
        assert status == 200 and body["customer"]["tags"] == ["VIP", "高风险"]

        assert (await call(http, "DELETE", f"{api}/{mine}/links/{mine}", root))[0] == 422
        status, body = await call(http, "DELETE", f"{api}/{mine}/links/{other}", root)
        assert status == 200 and sorted(i["id"] for i in body["identities"]) == [mine, third]
        assert (await call(http, "DELETE", f"{api}/{mine}/links/{other}", root))[0] == 409
        assert await linked(stack, other) == [other]
        status, body = await call(http, "GET", f"{api}/{other}", root)
        assert body["tags"] == [] and body["identities"][0]["id"] == other  # the tags stayed with the person

    async with stack.rt.db.sessions() as session:
        actions = list((await session.execute(select(AuditEntry.action).where(AuditEntry.entity == "customer")
                                              .order_by(AuditEntry.id))).scalars())
        assert await people.linked_customer_ids(session, 999999) == []
    assert actions == ["customer.link", "customer.link", "customer.update", "customer.unlink"]


@pytest_asyncio.fixture
async def weibo_stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    async with staffed_stack(nlu_pool, database_url, tmp_path, monkeypatch, {}, admins=("root",),
                             weibo=True) as running:
        yield running


async def test_linked_identities_keep_their_own_channel(weibo_stack: AgentStack):
    stack = weibo_stack
    await stack.push("你好", ALICE_OPENID)
    handoff = await stack.push_weibo("转人工", FAN)
    assert handoff.ok
    wechat_id, weibo_id = await customer_id(stack, ALICE_OPENID), await customer_id(stack, str(FAN))
    root = await stack.token("root")
    async with aiohttp.ClientSession() as http:
        status, _ = await call(http, "POST", f"{stack.base}/api/v1/customers/{wechat_id}/links", root,
                               json={"customer_id": weibo_id})
        assert status == 200
        status, body = await call(http, "GET", f"{stack.base}/api/v1/inbox", root)
        item = body["items"][0]
        assert (await call(http, "POST", f"{stack.base}/api/v1/inbox/{item['id']}/claim", root))[0] == 200
        status, _ = await call(http, "POST", f"{stack.base}/api/v1/threads/{item['thread_id']}/reply", root,
                               json={"text": "您好，这里是微博客服"})
        assert status == 202
    assert await wait_until(lambda: _async(stack.weibo.messages_to(FAN) == ["您好，这里是微博客服"]))
    assert not stack.api.messages_to(ALICE_OPENID)


async def _async(value: bool) -> bool:
    return value


async def bound(stack: AgentStack, *slugs: str) -> None:
    async with stack.rt.db.uow() as session:
        await session.execute(update(Account).where(Account.slug.in_(slugs)).values(open_platform=True))


@pytest_asyncio.fixture
async def union_stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    async with staffed_stack(nlu_pool, database_url, tmp_path, monkeypatch, {}, admins=("root",),
                             CAREBOT_WECHAT_UNIONID_INTERVAL="0.1", CAREBOT_PLATFORM_TIMEOUT="0.5") as running:
        yield running


async def test_unionid_links_the_same_person_across_accounts(union_stack: AgentStack):
    stack = union_stack
    await bound(stack, "brand", "other")
    stack.api.bound_apps = {APPID, OTHER_APPID}
    for openid in (ALICE_OPENID, OTHER_OPENID):
        stack.api.set_unionid(openid, UNIONID)
    stack.api.force_errcode(-1, endpoint="userinfo")  # a busy WeChat: the lookup is retried later
    result = await stack.push("你好", ALICE_OPENID)
    assert result.reply  # answered at once, whatever the lookup does

    def userinfo_calls(errcode: int | None) -> bool:
        return any(c.endpoint == "userinfo" and c.errcode == errcode for c in stack.api.calls)

    assert await wait_until(lambda: _async(userinfo_calls(-1)))
    stack.api.set_delay(1.0)  # slower than CAREBOT_PLATFORM_TIMEOUT: the retry times out, and is retried
    result = await stack.push("你好", OTHER_OPENID, slug="other")
    assert result.reply  # the webhook never waits for a lookup
    assert await wait_until(lambda: _async(userinfo_calls(None)))  # a call the client gave up on
    stack.api.set_delay(0.0)
    mine, other = await customer_id(stack, ALICE_OPENID), await customer_id(stack, OTHER_OPENID)

    async def both_linked() -> bool:
        return await linked(stack, mine) == sorted([mine, other])

    assert await wait_until(both_linked, timeout=20)
    async with stack.rt.db.sessions() as session:
        rows = {c.id: c for c in (await session.execute(select(Customer))).scalars()}
        entry = (await session.execute(select(AuditEntry).where(AuditEntry.action == "customer.link"))).scalar_one()
    assert rows[mine].unionid == rows[other].unionid == UNIONID and rows[mine].unionid_state == "found"
    assert entry.actor == "wechat:unionid"
    assert [c.errcode for c in stack.api.calls if c.endpoint == "userinfo"].count(-1) == 1
    assert rows[mine].unionid_attempts >= 3  # busy, timed out, answered


async def test_unionid_only_when_bound_and_errors_are_not_retried_forever(union_stack: AgentStack):
    stack = union_stack
    await bound(stack, "brand")  # carebot says bound, WeChat does not: no unionid, no link
    stack.api.set_unionid(ALICE_OPENID, UNIONID)
    stack.api.force_errcode(40003, endpoint="userinfo")  # the second customer: WeChat refuses for good
    await stack.push("你好", THIRD_OPENID)
    await stack.push("你好", ALICE_OPENID)
    await stack.push("你好", OTHER_OPENID, slug="other")  # an account not bound: never looked up

    async def settled() -> bool:
        async with stack.rt.db.sessions() as session:
            states = await session.execute(select(Customer.external_id, Customer.unionid_state))
            return {state for external, state in states if external != OTHER_OPENID} == {"none", "failed"}

    assert await wait_until(settled, timeout=20)
    async with stack.rt.db.sessions() as session:
        rows = {c.external_id: c for c in (await session.execute(select(Customer))).scalars()}
        assert (await session.execute(select(func.count()).select_from(Person))).scalar_one() == 0
    assert rows[OTHER_OPENID].unionid_state is None and rows[OTHER_OPENID].unionid_attempts == 0
    assert all(c.openid != OTHER_OPENID for c in stack.api.calls if c.endpoint == "userinfo")
    assert {rows[THIRD_OPENID].unionid_attempts, rows[ALICE_OPENID].unionid_attempts} == {1}
    assert rows[THIRD_OPENID].unionid is None and rows[ALICE_OPENID].unionid is None
    async with stack.rt.db.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Thread))).scalar_one() == 3
