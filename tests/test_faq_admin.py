"""The FAQ admin API and pages over real HTTP against the real app (model, both databases);
WeChat is the loopback fake. Per-account answers and switched-off FAQs are checked where
they matter: in what the bot answers a consumer of that account."""
import asyncio

import aiohttp
from sqlalchemy import func, select

from bot.conversation.pipeline import FAQ_NAMES_TTL
from bot.store.models import AuditEntry, FaqIntent, Message
from tests.agent_stack import AgentStack, call, login

BANNER = "FAQ 已修改，模型需要重新训练"
NEW_FAQ = {"name": "faq/engraving", "question": "可以免费刻字吗？",
           "examples": ["能刻字吗", "刻字要加钱吗", "首饰上可以刻名字吗"],
           "answer": "下单时备注刻字内容即可，免费刻字，最多 8 个字。"}
SHIPPING_ANSWER_WORDS = "发货"


def browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def counts(stack: AgentStack) -> tuple[int, int]:
    async with stack.rt.db.sessions() as session:
        return ((await session.execute(select(func.count(FaqIntent.id)))).scalar_one(),
                (await session.execute(select(func.count(AuditEntry.id)).where(AuditEntry.entity == "faq"))).scalar_one())


async def test_crud_bad_input_audit_and_out_of_date(stack: AgentStack):
    root, alice = await stack.token("root"), await stack.token("alice")
    api = f"{stack.base}/api/v1/faqs"
    async with aiohttp.ClientSession() as http:
        for method, url in (("GET", api), ("POST", api), ("GET", f"{api}/1"), ("PATCH", f"{api}/1"),
                            ("DELETE", f"{api}/1"), ("GET", f"{api}/export"), ("POST", f"{api}/import"),
                            ("GET", f"{stack.base}/admin/faq")):
            status, _ = await call(http, method, url, alice, json={})
            assert status == 403, (method, url)
        status, body = await call(http, "GET", api, root)
        assert status == 200 and not body["model_out_of_date"] and len(body["faqs"]) > 10
        before = await counts(stack)
        too_long = "刻字服务说明。" * 60  # 420 characters, 1,260 bytes: two Weibo messages, one WeChat message
        for bad, field in (({**NEW_FAQ, "examples": []}, "examples"), ({**NEW_FAQ, "examples": ["  "]}, "examples"),
                           ({**NEW_FAQ, "question": "下单后多久发货?"}, "question"),  # the shipping FAQ's title
                           ({**NEW_FAQ, "name": "faq/shipping_time"}, "name"),
                           ({**NEW_FAQ, "name": "Store Hours"}, "name"), ({**NEW_FAQ, "name": "greet"}, "name"),
                           ({**NEW_FAQ, "examples": ["下单后多久发货"]}, "examples"),  # another FAQ's example
                           ({**NEW_FAQ, "answer": ""}, "answer"), ({**NEW_FAQ, "answer": too_long}, "answer"),
                           ({**NEW_FAQ, "accounts": [{"account": "nowhere", "enabled": False}]}, "accounts"),
                           ({**NEW_FAQ, "examples": "门店几点开门"}, "examples")):
            status, body = await call(http, "POST", api, root, json=bad)
            assert status == 422 and body["field"] == field and body["error"], (bad, body)
        assert body["error"].startswith("字段 examples")
        status, body = await call(http, "POST", api, root, json={**NEW_FAQ, "name": "faq/invoice"})
        assert status == 422 and "已存在" in body["error"]
        status, body = await call(http, "POST", api, root, json={**NEW_FAQ, "answer": too_long})
        assert [(w["platform"], len(w["parts"])) for w in body["split"]] == [("weibo", 2)]
        assert "".join(body["split"][0]["parts"]) == too_long and len(body["split"][0]["parts"][0]) == 300
        assert await counts(stack) == before  # nothing half-written

        status, created = await call(http, "POST", api, root, json={**NEW_FAQ, "answer": too_long, "allow_split": True})
        assert status == 201 and created["examples"] == NEW_FAQ["examples"] and created["accounts"] == []
        status, body = await call(http, "GET", api, root, params={"q": "首饰"})  # found by an example
        assert [f["name"] for f in body["faqs"]] == ["faq/engraving"] and body["model_out_of_date"]
        status, body = await call(http, "GET", api, root, params={"q": "刻字服务说明"})  # by its answer
        assert [f["name"] for f in body["faqs"]] == ["faq/engraving"]
        url = f"{api}/{created['id']}"
        status, body = await call(http, "PATCH", url, root, json={"answer": NEW_FAQ["answer"], "name": "faq/x"})
        assert status == 200 and body["answer"] == NEW_FAQ["answer"] and body["name"] == "faq/engraving"
        status, body = await call(http, "PATCH", url, root, json={"examples": []})
        assert status == 422 and body["field"] == "examples"
        status, body = await call(http, "GET", url, root)
        assert body["answer"] == NEW_FAQ["answer"] and body["examples"] == NEW_FAQ["examples"]
        status, html = await call(http, "GET", f"{stack.base}/admin/faq", root)
        assert status == 200 and BANNER in html and "faq/engraving" in html
        status, html = await call(http, "GET", f"{stack.base}/inbox", root)
        assert BANNER not in html  # on the admin pages only
        status, _ = await call(http, "DELETE", url, root)
        assert status == 204
        status, _ = await call(http, "GET", url, root)
        assert status == 404
        status, body = await call(http, "GET", api, root)
        assert not body["model_out_of_date"]  # the data are the trained ones again
        status, doc = await call(http, "GET", f"{stack.base}/api/v1/openapi.json")
        assert {"get", "post"} <= set(doc["paths"]["/api/v1/faqs"])
        assert {"get", "patch", "delete"} <= set(doc["paths"]["/api/v1/faqs/{id}"])
    async with stack.rt.db.sessions() as session:
        entries = (await session.execute(select(AuditEntry).where(AuditEntry.entity == "faq")
                                         .order_by(AuditEntry.id))).scalars().all()
    assert [(e.actor, e.action, e.entity_id) for e in entries] == [
        ("root", "faq.create", "faq/engraving"), ("root", "faq.update", "faq/engraving"),
        ("root", "faq.delete", "faq/engraving")]
    assert entries[1].before["answer"] == too_long and entries[1].after["answer"] == NEW_FAQ["answer"]


async def _reply(stack: AgentStack, text: str, openid: str, slug: str) -> str:
    result = await stack.push(text, openid, slug=slug)
    assert result.reply is not None
    return result.reply["Content"]


async def test_account_answer_and_switched_off_faq_when_the_bot_answers(stack: AgentStack):
    root = await stack.token("root")
    question = "下单后多久发货"
    default = await _reply(stack, question, "oFaqBrand0000000000000001", "brand")
    assert SHIPPING_ANSWER_WORDS in default
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", f"{stack.base}/api/v1/faqs", root, params={"q": "faq/shipping_time"})
        shipping = body["faqs"][0]
        own = "华南仓发货：下单后 24 小时内发出。"
        status, body = await call(http, "PATCH", f"{stack.base}/api/v1/faqs/{shipping['id']}", root, json={
            "accounts": [{"account": "other", "answer": own}, {"account": "brand", "enabled": False}]})
        assert status == 200 and body["accounts"] == [{"account": "brand", "answer": None, "enabled": False},
                                                      {"account": "other", "answer": own, "enabled": True}]
        status, body = await call(http, "GET", f"{stack.base}/api/v1/faqs", root)
        assert not body["model_out_of_date"]  # an account's own answers are not training data
    await asyncio.sleep(FAQ_NAMES_TTL + 0.2)  # the bot's cached catalogue expires
    openid = "oFaqOther0000000000000001"
    assert await _reply(stack, question, openid, "other") == own  # a new thread
    assert await _reply(stack, "几天发货", openid, "other") == own  # a known thread: the bulk path

    switched_off = await _reply(stack, question, "oFaqBrand0000000000000002", "brand")
    assert switched_off != default and "下单后多久发货？" not in switched_off
    async with stack.rt.db.sessions() as session:
        action = (await session.execute(select(Message.action).where(Message.direction == "in", Message.text == question)
                                        .order_by(Message.id.desc()).limit(1))).scalar_one()
        audit = (await session.execute(select(AuditEntry).where(AuditEntry.action == "faq.update"))).scalar_one()
    assert action == "clarify"  # not understood for this account: the menu of other FAQs
    assert audit.before["accounts"] == [] and len(audit.after["accounts"]) == 2

    async with aiohttp.ClientSession() as http:  # back to the default for both accounts
        status, body = await call(http, "PATCH", f"{stack.base}/api/v1/faqs/{shipping['id']}", root, json={
            "accounts": [{"account": "other", "answer": None}, {"account": "brand", "enabled": True}]})
        assert body["accounts"] == []
    await asyncio.sleep(FAQ_NAMES_TTL + 0.2)
    assert await _reply(stack, question, "oFaqBrand0000000000000003", "brand") == default


BROKEN_YAML = """version: "3.1"
nlu:
- intent: faq/gift_card
  examples: |
    - 礼品卡怎么用
    礼品卡能退吗
responses:
  utter_faq/gift_card:
  - text: "礼品卡可在结算页使用。"
"""
GOOD_YAML = """version: "3.1"
nlu:
- intent: faq/gift_card
  metadata:
    question: 礼品卡怎么用？
  examples: |
    - 礼品卡怎么用
    - 礼品卡能退吗
responses:
  utter_faq/gift_card:
  - text: "礼品卡可在结算页使用。"
"""


TWIN_TITLES_YAML = GOOD_YAML.replace("responses:\n", """- intent: faq/gift_card_b
  metadata:
    question: 礼品卡怎么用
  examples: |
    - 礼品卡在哪里输入
responses:
""") + """  utter_faq/gift_card_b:
  - text: "结算页输入卡号。"
"""
SHIPPING_TITLE_YAML = GOOD_YAML.replace("礼品卡怎么用？", "下单后多久发货？")


async def test_import_export_and_pages(stack: AgentStack):
    root = await stack.token("root")
    api = f"{stack.base}/api/v1/faqs"
    async with browser() as http:
        status, exported = await call(http, "GET", f"{api}/export", root)
        assert status == 200 and "- intent: faq/shipping_time" in exported and "utter_faq/shipping_time" in exported
        before = await counts(stack)
        status, body = await call(http, "POST", f"{api}/import", root, params={"filename": "gift.yml"},
                                  data=BROKEN_YAML.encode())
        assert status == 422 and body["line"] == 6 and "gift.yml 第 6 行" in body["error"]
        assert await counts(stack) == before
        for bad, words in ((TWIN_TITLES_YAML, "faq/gift_card_b 的标题问题「礼品卡怎么用」已被 faq/gift_card 使用"),
                           (SHIPPING_TITLE_YAML, "已被 faq/shipping_time 使用"),  # a title of an FAQ it keeps
                           (GOOD_YAML.replace("礼品卡可在结算页使用。", "长" * 4001), "faq/gift_card：答案最多 4000 个字符")):
            status, body = await call(http, "POST", f"{api}/import", root, data=bad.encode())
            assert status == 422 and words in body["error"] and "未做任何修改" in body["error"], body
        assert await counts(stack) == before
        status, body = await call(http, "POST", f"{api}/import", root, data=GOOD_YAML.encode())
        assert status == 200 and body == {"added": 1, "updated": 0, "removed": 0, "split": []}
        long_answer = "礼品卡说明。" * 120  # 720 characters, 2,160 bytes: over both platforms' messages
        status, body = await call(http, "POST", f"{api}/import", root,
                                  data=GOOD_YAML.replace("礼品卡可在结算页使用。", long_answer).encode())
        assert status == 200 and body["updated"] == 1  # imported as the file says, and shown how it will go out
        assert [(w["name"], w["platform"], len(w["parts"])) for w in body["split"]] == [
            ("faq/gift_card", "wechat", 2), ("faq/gift_card", "weibo", 3)]
        assert all(len(part.encode()) <= 2048 for part in body["split"][0]["parts"])
        assert all("".join(w["parts"]) == long_answer for w in body["split"])
        status, body = await call(http, "GET", api, root, params={"q": "礼品卡能退"})
        assert [f["question"] for f in body["faqs"]] == ["礼品卡怎么用？"] and body["model_out_of_date"]

        csrf = await login(http, stack.base, "root")
        form = {"csrf_token": csrf, "name": "faq/engraving", "question": "可以免费刻字吗？", "examples": "",
                "answer": "下单时备注刻字内容即可。", "enabled@brand": "on", "enabled@other": "on"}
        status, html = await call(http, "POST", f"{stack.base}/admin/faq/new", data=form)
        assert status == 422 and "至少需要一条例句" in html and BANNER in html
        long_answer = "刻字说明" * 100  # 400 characters: two Weibo messages
        status, html = await call(http, "POST", f"{stack.base}/admin/faq/new",
                                  data={**form, "examples": "能刻字吗\n刻字要加钱吗", "answer": long_answer})
        assert status == 422 and html.count('class="split-part"') == 2 and "确认按上面的方式分条发送" in html
        assert await counts(stack) == (before[0] + 1, before[1] + 2)  # only the two imports
        status, html = await call(http, "POST", f"{stack.base}/admin/faq/new", data={
            **form, "examples": "能刻字吗\n刻字要加钱吗", "answer": long_answer, "allow_split": "on",
            "answer@other": "门店购买请到店刻字。"})
        assert status == 200 and "已保存" in html and "门店购买请到店刻字。" in html
        status, body = await call(http, "GET", api, root, params={"q": "faq/engraving"})
        assert body["faqs"][0]["accounts"] == [{"account": "other", "answer": "门店购买请到店刻字。", "enabled": True}]
        assert body["faqs"][0]["examples"] == ["能刻字吗", "刻字要加钱吗"]
    async with stack.rt.db.sessions() as session:
        actions = (await session.execute(select(AuditEntry.action, AuditEntry.after).where(AuditEntry.entity == "faq")
                                         .order_by(AuditEntry.id))).all()
    assert [a for a, _ in actions] == ["faq.import", "faq.import", "faq.create"]
    assert actions[0][1]["added_names"] == ["faq/gift_card"] and actions[0][1]["source"] == "upload.yml"
