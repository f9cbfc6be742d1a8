"""The conversation pipeline with the real trained model, on SQLite and PostgreSQL."""
import re
from dataclasses import replace
from datetime import date, datetime, time, timezone

from sqlalchemy import func, select

from bot.conversation.messages import InboundMessage
from bot.conversation.pipeline import Conversation
from bot.store import accounts, faq, sla
from bot.store.faq import FaqRecord, Override
from bot.store.models import FaqAnswer, FaqIntent, InboxItem, Message, Thread, Ticket


def msg(text: str, sender: str = "c1", key: str | None = None, msg_type: str = "text") -> InboundMessage:
    return InboundMessage(platform="console", account="console", sender=sender, text=text,
                          dedupe_key=key, msg_type=msg_type)


async def test_faq_is_answered_from_the_database(conversation: Conversation):
    out = await conversation.handle(msg("退款一般几天能到账"))
    assert (out.intent, out.action, out.owner) == ("faq/refund_time", "answer_faq", "bot")
    async with conversation.db.uow() as session:
        answer = (await session.execute(select(FaqAnswer).join(FaqIntent)
                                        .where(FaqIntent.name == "faq/refund_time"))).scalar_one()
        assert out.replies == [answer.text]
        answer.text = "新的退款说明：原路退回，1-3个工作日到账。"
    out = await conversation.handle(msg("退款一般几天能到账", sender="c2"))
    assert out.replies == ["新的退款说明：原路退回，1-3个工作日到账。"]  # no retraining needed


async def test_complaint_opens_a_ticket_and_status_names_it(conversation: Conversation):
    out = await conversation.handle(msg("收到的衣服是破的，质量太差了，我要投诉"))
    assert out.action == "open_ticket" and out.owner == "queue"
    assert re.fullmatch(r"T\d{8}-\d{4}", out.ticket) and out.ticket in out.replies[0]
    async with conversation.db.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        item = (await session.execute(select(InboxItem))).scalar_one()
    assert (ticket.number, ticket.priority, item.reason) == (out.ticket, "high", "complaint")


async def test_a_status_question_without_a_ticket_offers_the_faq_it_may_be_about(conversation: Conversation):
    """"我的工单状态查一下" is a status question to the model, with the delivery-tracking FAQ ranked next: a customer
    with no ticket is told so, and given that FAQ's answer (a customer may call an order a 单), not left with nothing."""
    out = await conversation.handle(msg("我的工单状态查一下"))
    assert out.action == "ticket_status" and out.ticket is None
    async with conversation.db.sessions() as session:
        tracking = await faq.answer(session, "faq/delivery_tracking")
    assert out.replies[0].startswith("您目前没有投诉或工单记录") and tracking and tracking in out.replies[0]


async def test_urgent_complaint(conversation: Conversation):
    out = await conversation.handle(msg("用了你们的充电宝起火了，我要找媒体曝光"))
    assert out.action == "open_ticket"
    async with conversation.db.sessions() as session:
        assert (await session.execute(select(Ticket.priority))).scalar_one() == "urgent"


async def test_handoff_then_silence_with_one_notice(conversation: Conversation):
    out = await conversation.handle(msg("转人工"))
    assert (out.action, out.owner) == ("handoff", "queue") and "第 1 位" in out.replies[0]
    first = await conversation.handle(msg("快点啊我等着呢"))
    second = await conversation.handle(msg("人呢？"))
    assert first.replies == ["已为您转接人工客服，请稍候"] and first.action == "append"
    assert second.replies == [] and second.owner == "queue"
    async with conversation.db.sessions() as session:
        inbound = (await session.execute(select(func.count()).select_from(Message)
                                         .where(Message.direction == "in"))).scalar_one()
    assert inbound == 3  # everything the customer sent is kept for the agent


def unsure(conversation: Conversation) -> Conversation:
    """The same bot with thresholds no parse reaches: every message is a misunderstanding."""
    settings = replace(conversation.settings, faq_threshold=1.01, intent_threshold=1.01)
    return Conversation(conversation.db, conversation.understand, settings)


async def test_two_misunderstandings_hand_off(conversation: Conversation):
    conversation = unsure(conversation)
    first = await conversation.handle(msg("退款多久能到"))
    assert first.action == "clarify", first
    second = await conversation.handle(msg("发票怎么开"))
    assert (second.action, second.owner) == ("handoff", "queue")
    async with conversation.db.sessions() as session:
        assert (await session.execute(select(InboxItem.reason))).scalar_one() == "bot_failed"


async def test_clarify_menu_answer_by_number(conversation: Conversation):
    first = await unsure(conversation).handle(msg("退款多久能到"))
    assert first.action == "clarify" and "1. " in first.replies[0]
    picked = await conversation.handle(msg("1"))
    assert (picked.action, picked.intent) == ("answer_faq", "faq/refund_time")
    assert picked.replies[0] != first.replies[0]


async def test_none_of_the_clarify_options_hands_off_at_once(conversation: Conversation):
    first = await unsure(conversation).handle(msg("退款多久能到"))
    assert first.action == "clarify"
    refused = await conversation.handle(msg("都不是"))
    assert (refused.action, refused.owner) == ("handoff", "queue")
    async with conversation.db.sessions() as session:
        assert (await session.execute(select(InboxItem.reason))).scalar_one() == "bot_failed"


async def test_traditional_input_is_understood(conversation: Conversation):
    out = await conversation.handle(msg("請問可以開增值稅專用發票嗎"))
    assert out.intent == "faq/invoice"


async def test_retry_gets_the_same_reply_and_is_stored_once(conversation: Conversation):
    outs = [await conversation.handle(msg("运费多少钱 满多少包邮", key="wx:123")) for _ in range(3)]
    assert outs[0].replies and all(o.replies == outs[0].replies for o in outs)
    assert [o.duplicate for o in outs] == [False, True, True]
    async with conversation.db.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(Message)
                                       .where(Message.direction == "in"))).scalar_one()
    assert count == 1


async def test_out_of_scope_declined_without_ticket(conversation: Conversation):
    out = await conversation.handle(msg("明天上海天气怎么样"))
    assert out.action == "decline" and out.ticket is None and out.owner == "bot"


async def test_bad_input_never_crashes(conversation: Conversation):
    for index, text in enumerate(["", "   ", "退" * 10_000, "😀😀😀", "\x00\xff\ufffd\x1b[31m", "a" * 600]):
        out = await conversation.handle(msg(text, sender=f"junk{index}"))
        assert out.replies and out.action in ("decline", "clarify", "answer_faq"), (text[:10], out)
    stored = await conversation.handle(msg("图片", sender="img", msg_type="image"))
    assert stored.action == "not_text" and stored.replies


async def test_every_inbound_row_keeps_the_understanding(conversation: Conversation):
    await conversation.handle(msg("怎么取消订单"))
    async with conversation.db.sessions() as session:
        row = (await session.execute(select(Message).where(Message.direction == "in"))).scalar_one()
    assert row.intent == "faq/cancel_order" and row.confidence > 0 and row.action == "answer_faq"
    assert row.ranking and row.ranking[0]["name"] == "faq/cancel_order"


async def test_handoff_outside_business_hours_says_when_people_are_back(conversation: Conversation):
    night = datetime(2026, 12, 1, 15, 30, tzinfo=timezone.utc)  # 23:30 in Shanghai
    settings = replace(conversation.settings, business_hours=(time(9), time(21)))
    late = Conversation(conversation.db, conversation.understand, settings, clock=lambda: night)
    out = await late.handle(msg("转人工"))
    assert out.action == "handoff" and "明天 09:00" in out.replies[0] and "已保存" in out.replies[0]
    out = await late.handle(msg("鞋子开胶了质量太差", sender="night2"))
    assert out.action == "open_ticket" and "明天 09:00" in out.replies[0]
    async with conversation.db.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.first_response_due == datetime(2026, 12, 2, 1, 30, tzinfo=timezone.utc)  # 09:30 local
    assert ticket.number == "T20261201-0001"  # the local date names the ticket


async def at(conversation: Conversation, moment: datetime, hours: str, *holidays: date) -> Conversation:
    """The console account with its own hours and holidays (as `carebot account hours|holidays`
    sets them), answered at `moment`; the deployment's hours stay the fixture's whole day."""
    async with conversation.db.uow() as session:
        account = await accounts.ensure(session, "console", "console")
        sla.set_hours(account, hours)
        await sla.add_holidays(session, account, list(holidays))
    return Conversation(conversation.db, conversation.understand, conversation.settings, clock=lambda: moment)


async def test_replies_tell_the_accounts_own_hours(conversation: Conversation):
    evening = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # Tuesday 17:00 in Shanghai
    late = await at(conversation, evening, "10:00-16:00")
    out = await late.handle(msg("转人工"))
    assert out.action == "handoff", out
    assert "10:00-16:00" in out.replies[0] and "明天 10:00" in out.replies[0] and "已保存" in out.replies[0]
    out = await late.handle(msg("你是机器人吗", sender="c2"))
    assert out.intent == "bot_challenge" and "人工客服每天 10:00-16:00 在线" in out.replies[0], out


async def test_handoff_on_an_account_holiday_names_the_next_working_day(conversation: Conversation):
    holiday = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)  # Wednesday 11:00 in Shanghai, a day off
    off = await at(conversation, holiday, "09:00-18:00 1-5", date(2026, 12, 2), date(2026, 12, 3))
    out = await off.handle(msg("转人工"))
    assert out.action == "handoff" and "12月4日 09:00" in out.replies[0], out  # Friday, after both days off
    out = await off.handle(msg("鞋子开胶了质量太差", sender="c2"))
    assert out.action == "open_ticket" and "12月4日 09:00" in out.replies[0], out


async def test_praise_is_thanked_kept_and_never_ticketed(conversation: Conversation):
    for index, text in enumerate(["裤子很合身，物流也超级给力，五星好评", "👍👍👍", "很好，价廉物美经济实惠值得购买",
                                  "[强][强][强]"]):
        out = await conversation.handle(msg(text, sender=f"fan{index}"))
        assert (out.action, out.intent, out.ticket, out.owner) == ("thank_praise", "praise", None, "bot"), text
        assert "好评" in out.replies[0] or "感谢" in out.replies[0]
    async with conversation.db.sessions() as session:
        kept = (await session.execute(select(func.count()).select_from(Message).where(
            Message.direction == "in", Message.intent == "praise"))).scalar_one()
        tickets = (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()
    assert (kept, tickets) == (4, 0)  # counted for reports, nobody paged


async def test_mild_and_mixed_complaints_get_a_ticket(conversation: Conversation):
    for index, text in enumerate(["价格有点小贵，感觉有点陈旧，不是太好", "物流很快，可就是个裸机，什么都不带，不满意",
                                  "自从用了这个洗发露，头皮屑哗哗的。怀疑假货", "/::@ 刚用就坏了"]):
        out = await conversation.handle(msg(text, sender=f"unhappy{index}"))
        assert out.action == "open_ticket" and out.ticket, (text, out)


async def test_a_queued_complainant_is_told_the_ticket_status_until_an_agent_holds_the_thread(
        conversation: Conversation):
    filed = await conversation.handle(msg("收到的鞋子开胶了，质量太差"))
    assert filed.action == "open_ticket" and filed.owner == "queue"
    status = await conversation.handle(msg("我的投诉处理得怎么样了"))
    assert status.action == "ticket_status" and status.owner == "queue"
    assert filed.ticket in status.replies[0] and "排在第 1 位" in status.replies[0]
    async with conversation.db.uow() as session:
        thread = (await session.execute(select(Thread))).scalar_one()
        thread.owner = "agent"  # as a claim leaves it
    held = await conversation.handle(msg("我的投诉处理得怎么样了"))
    assert held.action == "append" and held.replies == []


async def test_reviews_of_every_shape_get_a_sensible_decision(conversation: Conversation):
    """The issue's bad inputs: very long, mixed English, star ratings, sarcasm, an idiom."""
    cases = {"这款面膜我已经回购三次了，补水效果特别好，敷完脸很嫩。" * 20: "thank_praise",
             "五星好评": "thank_praise",
             "一星 不能再多了": "open_ticket",
             "The quality is terrible 退货": "open_ticket",
             "bad service": "open_ticket",  # was declined: the tone model reads Chinese only
             "真是太'好'了，用了一天就坏": "open_ticket",
             "好到我再也不想买了": "open_ticket",  # was the cancel-order FAQ
             "差强人意": "open_ticket"}  # was declined: taken for a request for a person, then unrelated
    for index, (text, action) in enumerate(cases.items()):
        out = await conversation.handle(msg(text, sender=f"review{index}"))
        assert out.action == action, (text[:20], out.action, out.intent)


async def test_the_bot_says_what_it_can_help_with_by_questions_of_the_live_catalogue(conversation: Conversation):
    """The welcome, the greeting and the polite decline name questions of the FAQ catalogue, spread over
    it; after an admin replaces the shop's FAQs with a bank's, none of them offers to track parcels, and
    an FAQ switched off for the account is not offered to its customers."""
    def named(reply: str) -> list[str]:
        return re.findall(r"「(.+?)」", reply)

    declined = await conversation.handle(msg("帮我写一首关于秋天的诗"))
    async with conversation.db.sessions() as session:
        shop = list((await session.execute(select(FaqIntent.question).order_by(FaqIntent.id))).scalars())
    assert declined.action == "decline"
    assert named(declined.replies[0]) == [shop[0], shop[len(shop) // 3], shop[2 * len(shop) // 3]]
    bank = [FaqRecord("faq/lost_card", "银行卡丢了怎么挂失？", ("卡丢了怎么办",), "请拨打客服热线挂失。"),
            FaqRecord("faq/open_account", "怎么开一张储蓄卡？", ("我想开户",), "请带身份证到网点办理。"),
            FaqRecord("faq/annual_fee", "信用卡年费怎么收？", ("年费多少",), "首年免年费。")]
    async with conversation.db.uow() as session:
        await faq.upsert(session, bank, replace=True)
    welcomed = await conversation.handle(InboundMessage(platform="console", account="console", sender="c2",
                                                        msg_type="event", event="subscribe"))
    assert named(welcomed.replies[0]) == ["银行卡丢了怎么挂失？", "怎么开一张储蓄卡？", "信用卡年费怎么收？"]
    assert "物流" not in welcomed.replies[0] and "发货" not in welcomed.replies[0]
    async with conversation.db.uow() as session:
        card = (await session.execute(select(FaqIntent).where(FaqIntent.name == "faq/open_account"))).scalar_one()
        await faq.set_overrides(session, card, [Override("console", enabled=False)])
    greeted = await conversation.handle(msg("你好", sender="c3"))
    assert greeted.action == "smalltalk"
    assert named(greeted.replies[0]) == ["银行卡丢了怎么挂失？", "信用卡年费怎么收？"]
    async with conversation.db.uow() as session:
        await faq.upsert(session, [], replace=True)
    declined = await conversation.handle(msg("帮我写一首关于秋天的诗", sender="c4"))
    assert declined.action == "decline" and named(declined.replies[0]) == [] and "转人工" in declined.replies[0]
