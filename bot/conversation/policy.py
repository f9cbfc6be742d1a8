"""The decision policy: from what the model understood to what the bot does.

Pure functions over plain values, so every rule is unit-tested without a model or a
database. Thresholds and keyword lists come from `Settings`.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from actions.base import Decision
from bot.nlu.result import Parse
from bot.nlu.names import is_faq
from bot.conversation import ratings
from bot.settings import Settings

SMALLTALK = ("greet", "thanks", "goodbye", "bot_challenge")
FALLBACK = "nlu_fallback"
# for a model without a calibration of its own (trained before calibration existed)
DEFAULT_ANSWER_THRESHOLD = 0.4
DEFAULT_OOS_SIMILARITY = 0.1
DEFAULT_OOS_RATIO = 1.0  # out_of_scope only when it is the best intent


@dataclass(frozen=True)
class ThreadState:
    owner: str = "bot"
    misunderstandings: int = 0
    clarify_options: tuple[str, ...] = ()


# a keyword right after one of these is denied, not said: "没有异味", "一点也不失望", "不会掉色"
_NEGATIONS = ("没有", "没", "不", "无", "未", "不会")  # "毫无", "并不" end in 无 and 不
# ... and a complaint keyword after one of these is a fault only feared ("本以为会很糟糕", "担心质量很差",
# "怕买到假货") or supposed ("如果不满意配置, 可以自己升级", "要是坏了能换吗"); a harm feared is still urgent
# ("吃完担心过敏")
_FEARS = ("以为", "担心", "怕", "如果", "要是", "假如", "万一")
_NEGATION_REACH = 2  # characters between the negation and the keyword ("没有一点异味")

_CLAUSE_END = re.compile(r"[\s,.!?;:，。！？；：、~]")
# a fault asked about is no verdict: a shopper asks "这件会掉色吗", "起球吗", "有异味吗", "噪音大不大" before buying
_ASKED = re.compile(r"[了的呢]?[吗么嘛]")


def _asked(text: str, word: str, end: int) -> bool:
    """Whether the word that ends at `end` is asked about: a question particle or A-not-A after it."""
    return bool(_ASKED.match(text, end)) or text.startswith("不" + word[-1], end)


# a request for a person is declined only in so many words: "能不能转人工" and "为什么还不转人工"
# ask for one, "不用转人工了" does not
_DECLINES = ("不用", "不要", "不需要", "无需", "用不着", "别")


def _denied(text: str, start: int, negations: tuple[str, ...]) -> bool:
    """Whether one of the negations stands just before `start`, in the same clause."""
    before = _CLAUSE_END.split(text[max(0, start - _NEGATION_REACH - 2):start])[-1]
    return any(before.rfind(word) >= 0 and len(before) - before.rfind(word) - len(word) <= _NEGATION_REACH
               for word in negations)


def mentions(text: str, words: tuple[str, ...], negations: tuple[str, ...] = _NEGATIONS,
             asked_is_said: bool = True) -> bool:
    """Whether the text says one of the words (not merely denies it, nor, unless `asked_is_said`, only
    asks about it: "这件会掉色吗")."""
    for word in words:
        start = text.find(word) if word else -1
        while start >= 0:
            if not _denied(text, start, negations) and (asked_is_said or not _asked(text, word, start + len(word))) \
                    and not _in_number(text, word, start):
                return True
            start = text.find(word, start + 1)
    return False


def _in_number(text: str, word: str, start: int) -> bool:
    """Whether a keyword of figures is part of a longer number: the 315 of an order or phone number ("订单号
    3158826", "电话02800923158") is no threat to call 12315."""
    end = start + len(word)
    return (word[0].isdigit() and start > 0 and text[start - 1].isdigit()) \
        or (word[-1].isdigit() and end < len(text) and text[end].isdigit())


# words that hold a complaint keyword but say no verdict: rubbish itself (a rider who took the rubbish down is
# praised, "骑手还帮我扔了垃圾 太暖了"; spam is a carrier's FAQ, "天天收到垃圾短信 能屏蔽吗"), 上当 across two
# words ("早上当镜子用了一下", "网上当当买的"), worth asked or waved away ("值不值得买", "这点小事不值一提"), and
# 离谱 as the degree of a merit, today's praise ("好用到离谱", "便宜得离谱"; "贵得离谱" and "太离谱了" stay verdicts)
_NOT_VERDICTS = re.compile(r"垃圾(?:袋|桶|箱|站|车|分类|短信|电话|邮件|广告)|(?:扔|倒|丢|带|收|清|拎|捡)(?:了|走|下)*垃圾"
                           r"|把垃圾(?=[带扔倒拿拎丢收])|[早晚马路身手桌网]上当|上当当|缺少|值不值|不值一提"
                           r"|(?:好[用吃看喝穿听闻玩]|便宜|划算|实惠|舒服|香|漂亮|快|稳|值|顺滑|丝滑|清晰|耐用|给力)[到得]离谱")


def keywords_complain(text: str, settings: Settings) -> bool:
    """Whether a complaint, urgent or safety keyword is said (not denied, nor, for a complaint, only
    feared or asked about)."""
    verdicts = _NOT_VERDICTS.sub(" ", text)
    return mentions(verdicts, settings.complaint_keywords, _NEGATIONS + _FEARS, asked_is_said=False) \
        or urgent_said(text, settings)


# words that hold a threat keyword but threaten nothing: an alarm (a shop sells "烟雾报警器"; "报警声太吓人" is
# no call to the police), media as a kind of product ("多媒体功能", "流媒体会员") and a court as a place (a courier's
# customer "给法院寄材料", a hotel "就在法院旁边"; "法院见" and "告到法院" stay threats)
_NOT_THREATS = re.compile(r"报警(?:器|灯|声|音|装置)|[多流]媒体"
                          r"|(?:[寄送]|快递)(?:给|到|去|往)法院|给法院(?:[寄送]|快递)|法院(?:附近|旁边|对面|门口|边上)")


def urgent_said(text: str, settings: Settings) -> bool:
    """Whether a threat of exposure or legal action, or a health or safety matter, is said."""
    return any(_urgent_words(text, settings))


def _urgent_words(text: str, settings: Settings) -> Iterator[str]:
    """The threats and harms the text names, one by one: `urgent_said`, on every message, stops at the first."""
    threats = _NOT_THREATS.sub(" ", text)
    yield from (word for word in settings.urgent_keywords if mentions(threats, (word,)))
    yield from (word for word in settings.safety_keywords if mentions(text, (word,)))


def asks_for_person(text: str, settings: Settings) -> bool:
    return mentions(text, settings.human_keywords, _DECLINES)


def asks_about_people(parse: Parse, text: str, settings: Settings) -> bool:
    """A question that names a person but that an FAQ answers with near certainty asks about the
    agents ("人工客服几点上班？", the service-hours FAQ's own question), not for one; "人工客服在吗",
    where the model is far less sure of that FAQ, still gets a person."""
    return is_faq(parse.intent) and parse.confidence >= settings.human_faq_sure and is_question(text)


def complaint_priority(text: str, settings: Settings, public: bool = False) -> str:
    """Threats of exposure or legal action, and health or safety, are urgent; so is, by
    default, a complaint made in public (others read it, and it spreads)."""
    if urgent_said(text, settings):
        return "urgent"
    return settings.public_complaint_priority if public else "high"


@dataclass(frozen=True)
class Thresholds:
    answer_faq: float
    answer_intent: float
    oos_similarity: float
    oos_ratio: float


def thresholds(parse: Parse, settings: Settings) -> Thresholds:
    """The model's own calibration (its cross-validation at training time), unless a setting
    overrides it: a new FAQ set is not judged by another data set's constants."""
    answer = parse.calibration.get("answer_threshold", DEFAULT_ANSWER_THRESHOLD)
    return Thresholds(
        answer_faq=answer if settings.faq_threshold is None else settings.faq_threshold,
        answer_intent=answer if settings.intent_threshold is None else settings.intent_threshold,
        oos_similarity=(parse.calibration.get("oos_similarity", DEFAULT_OOS_SIMILARITY)
                        if settings.oos_similarity is None else settings.oos_similarity),
        oos_ratio=(parse.calibration.get("oos_ratio", DEFAULT_OOS_RATIO)
                   if settings.oos_ratio is None else settings.oos_ratio))


def hesitant(parse: Parse, text: str, settings: Settings) -> bool:
    """Whether the intent model's verdict is a guess to check against the tone: the message asks
    something, or the model is below `complaint_intent_sure`."""
    return is_question(text) or parse.confidence < settings.complaint_intent_sure


def complains(parse: Parse, text: str, settings: Settings, limits: Thresholds, answered: bool = True) -> bool:
    """A complaint is recognised by its meaning (the tone model, trained on real reviews), by the
    intent model, or by keywords or a low rating: a missed complaint is the worst error. Where the
    two models disagree, the tone must be clearer: a confident FAQ question that only sounds unhappy
    ("物流两天没动了 在哪"), or what the intent model takes for praise, needs a strong one; what it
    takes for a complaint needs only some unhappiness in the tone, and no praise heard in it.
    `answered=False`: the FAQ will not be answered after all (the out-of-scope checks overrule it), so
    it does not stand against the tone."""
    if said_complaint(text, settings) and not asks_about_complaints(parse, text, settings):
        return True  # in words, or in numbers: "一星 不能再多了", "打个零分"
    sure = parse.confidence >= (limits.answer_faq if is_faq(parse.intent) else limits.answer_intent)
    if parse.intent == "complain" and sure:
        # a question the intent model files with complaints ("转错账了能撤回吗") needs more of the
        # tone; so does a review it barely takes for one (it learned that talking about a product is
        # complaining, "咖啡豆现烘的 打开满屋子都香"). Praise the tone model hears wins: the intent
        # model's "complain" of a review is most often a fault denied ("鸡蛋一个都没碎 蛋黄很黄")
        floor = settings.complaint_tone_question if hesitant(parse, text, settings) else settings.complaint_tone_floor
        return parse.complaint_tone >= floor and not praise_heard(parse, text, settings)
    if parse.intent in SMALLTALK and parse.confidence >= settings.smalltalk_sure and parse.familiar is None:
        # a reply of function words alone ("没有", "是的") that the intent model knows for smalltalk
        # is about nothing to complain of; the tone model, learned from reviews, hears 没有 as one
        return False
    # praise that the tone hears as a complaint ("台灯频闪 晃得眼睛疼") is not a disagreement
    praised = parse.intent == "praise" and parse.praise_tone >= parse.complaint_tone
    # nor is a statement that the intent model barely files under an FAQ (below `complaint_faq_sure`:
    # "送货速度慢，而且实货没得照片好" as the delivery-tracking FAQ at 0.25): an FAQ answers a question
    asked = is_question(text) or parse.confidence >= settings.complaint_faq_sure
    disagrees = sure and ((is_faq(parse.intent) and answered and asked) or praised)
    needed = settings.complaint_tone_strong if disagrees else settings.complaint_tone
    return tone_readable(text) and parse.complaint_tone >= needed


def asks_about_complaints(parse: Parse, text: str, settings: Settings) -> bool:
    """Whether a question that names a complaint or a rating asks about them rather than makes one: a calm
    question (the tone below `complaint_tone_floor`) that an FAQ of the admin's answers with confidence
    (`keyword_faq_sure`). A ride-hailing app's FAQs on ratings and bans: "给司机差评他会知道是我吗" and
    "一星评价会对司机有影响吗" were tickets. A threat or a harm named still reaches a person, unless the FAQ was
    itself taught in that word (`faq_names_harm`); a rhetorical keyword ("用了优惠券还比别人贵 搞什么") asks nothing."""
    if not (is_faq(parse.intent) and parse.confidence >= settings.keyword_faq_sure
            and parse.complaint_tone < settings.complaint_tone_floor) or not faq_names_harm(parse, text, settings):
        return False
    # asked in other words than the complaint's: "搞什么" ends in a question's 么 and asks nothing
    for word in settings.complaint_keywords + settings.safety_keywords:
        text = text.replace(word, " ")
    # a long message tells its story first and asks at the end: "我妈上周住院做了个手术 出院了 医疗险这块怎么申请报销"
    last = [clause for clause in _CLAUSE_END.split(text) if clause][-1:]
    return is_question(text) or (bool(last) and is_question(last[0]))


def faq_names_harm(parse: Parse, text: str, settings: Settings) -> bool:
    """Whether every threat or harm the text names (`urgent_keywords`, `safety_keywords`; true when it names none)
    is a word the picked FAQ was itself taught in: the admin made it that FAQ's business. An insurer's customers ask
    "住院前做的检查费用能不能一起报" and "我妈上周住院了 医疗险这块怎么申请报销" of FAQs whose answer or examples say 住院,
    and a ride-hailing app's "一键报警会通知我家人吗" of its emergency FAQ; they were tickets, urgent, as a shop's
    "吃了你们的零食住院了" and "再不退款我就找媒体曝光" are. A shop's FAQ that never says 住院 or 媒体 answers no
    such message, however sure the model; nor does an insurer's FAQ that never says it ("意外住院也有等待期吗" of the
    waiting-period FAQ)."""
    return all(any(word in taught for taught in parse.faq_words) for word in _urgent_words(text, settings))


def held_complaint(parse: Parse | None, text: str, settings: Settings) -> Decision | None:
    """A complaint said while people hold the thread (the bot does nothing with it), recorded as
    one (intent "complain") for the crisis radar: by the models when the message was read (a
    queued thread), by its words otherwise (an agent's thread is not read)."""
    if parse is None:
        said = keywords_complain(text, settings)
    else:
        said = complains(parse, text, settings, thresholds(parse, settings))
    return Decision("append", "complain", parse.confidence if parse else None) if said else None


_HAN = re.compile(r"[\u3400-\u9fff]")
# the tone model learned from Chinese reviews: it judges nothing with fewer Chinese characters
_TONE_MIN_HAN = 2


def tone_readable(text: str) -> bool:
    return len(_HAN.findall(text)) >= _TONE_MIN_HAN


# a message that asks something is not praise, however warm its words ("哪家奶茶最好喝",
# "五一去桂林 住哪里比较方便"): a question mark or particle at its end (or the spoken A-not-A that ends in its
# 不 or 没: "敏感肌能用这个面霜不", "退款到帐了没"; not "绝不", "从没"), or, in a short chat
# message, a question word, an A-not-A question (能不能, 有没有: "辣不辣" is no praise; "不错不错" and
# "没有没有" are no question) or a choice ("理赔是线上申请还是要去柜台"; not the 是 of 但是 or 就是: "但是4星级还是
# 可以的"). Long reviews use question words in passing: "去哪里都很方便"
_ENDS_ASKING = re.compile(r"([?？]|(?:[吗嘛么]|(?<![绝决并从也都再就毫出上])[不没])[\s,.!~，。！…]*)$")
_QUESTION_WORDS = re.compile(r"怎么|怎样|咋|如何|为什么|为啥|哪里|哪儿|哪家|哪个|多少|多久|几点|几天|几号|什么时候|什么时间|几时|"
                             r"是否|能否|可否|(?<![不没])(?![不没])([\u4e00-\u9fff])[不没]\1|"
                             r"(?<![但就还也倒总真可只要于而不像算凡都])是[^,.!?;:，。！？；：\s]{1,12}还是")
_SHORT_MESSAGE = 25  # characters
# a question begun in English, as customers mix it in ("can i change delivery address 还没派送" was a long statement,
# read for its tone, and ticketed); "can't login" reports a problem
_ASKS_IN_ENGLISH = re.compile(r"(?:can|could|how|what|where|when|why|is|are|do|does|did|will|would|may|should|which|who)"
                              r"\b(?!'t|’t|\s+not\b)", re.IGNORECASE)


def is_question(text: str) -> bool:
    text = text.strip()
    return bool(_ENDS_ASKING.search(text) or _ASKS_IN_ENGLISH.match(text)) \
        or (len(text) <= _SHORT_MESSAGE and bool(_QUESTION_WORDS.search(text)))


# what a question about a complaint's progress names: a stage, a result, a ticket (or its number)
_PROGRESS = re.compile(r"进度|进展|结果|状态|处理|回复|回电|跟进|没人|怎么样|到哪|哪一步|工单|单号|[a-z]\d{8}-\d{4}|ticket|case|update",
                       re.IGNORECASE)


def thanks_for_handling(parse: Parse, text: str, settings: Settings) -> bool:
    """Whether a message that names the handling of a problem praises it ("处理问题很快 给你们点赞": praise
    tone 0.93) rather than asks how far it got: a statement the tone model hears as strong praise."""
    return parse.praise_tone >= settings.praise_tone_strong and not is_question(text)


def asks_progress(text: str) -> bool:
    """Whether a message the intent model takes for a ticket-status question asks one: "我要投诉"
    declares a complaint, "投诉进度" and "我的投诉处理得怎么样了" ask about one."""
    return is_question(text) or bool(_PROGRESS.search(text))


def praises(parse: Parse, text: str, settings: Settings, limits: Thresholds) -> bool:
    """Praise by the intent model or by a clear tone, unless the message asks something (then
    `resolve_intent` has already set the intent model's praise aside). An FAQ the intent model is
    sure of needs a strong praise tone to lose; one it barely picked (below `praise_faq_sure`: "会回购的"
    as the presale FAQ at 0.28) only the ordinary one: a review's words are not a question's."""
    faq_stands = max(limits.answer_faq, settings.praise_faq_sure)
    if is_question(text) or (is_faq(parse.intent) and parse.confidence >= faq_stands
                             and parse.praise_tone < settings.praise_tone_strong):
        return False
    if parse.intent == "praise" and parse.confidence >= limits.answer_intent:
        return True
    return praise_heard(parse, text, settings)


def praise_heard(parse: Parse, text: str, settings: Settings) -> bool:
    """Whether the tone model, not only the intent model, hears praise."""
    return tone_readable(text) and parse.praise_tone >= settings.praise_tone


def _second_choice(parse: Parse) -> Parse:
    """The parse as if the model had not known its best intent."""
    rest = parse.ranking[1:]
    if not rest:
        return replace(parse, intent="out_of_scope", confidence=1.0, ranking=[])
    return replace(parse, intent=rest[0]["name"], confidence=rest[0]["confidence"], ranking=rest)


# intents the out-of-scope ratio does not overrule when the model is sure of them (`smalltalk_sure`): a
# goodbye or a request for a person declined as unrelated ("晚安啦", "real person please") is a worse
# reply than theirs to a request that is unrelated
_ANSWERED_THOUGH_UNRELATED = ("goodbye", "request_human")


def _unrelated(parse: Parse, settings: Settings, limits: Thresholds) -> float | None:
    """The out-of-scope confidence when the model's pick is overruled as about something it was not
    taught; None when the pick stands. The classifier picks one of the intents it knows even for text
    unlike any of them: a low similarity to the nearest training example of that intent, content
    words none of which any example used, or an out_of_scope score close to the best overrule it."""
    if parse.intent == "out_of_scope":
        return None
    if parse.similarity < limits.oos_similarity:
        return 1.0 - parse.similarity
    if parse.familiar == 0.0:
        return 1.0  # not one word of what it is about was ever taught
    out_of_scope = next((r["confidence"] for r in parse.ranking if r["name"] == "out_of_scope"), 0.0)
    ratio_applies = not (parse.intent in _ANSWERED_THOUGH_UNRELATED and parse.confidence >= settings.smalltalk_sure)
    if ratio_applies and out_of_scope >= limits.oos_ratio * parse.confidence:
        return out_of_scope  # nearly as likely unrelated as what it looks most like
    return None


def review_verdict(parse: Parse, text: str, settings: Settings) -> str | None:
    """The verdict of a review, "complain" or "praise", or None when the message is not one or the tone
    model hears neither clearly. A long statement (`review_chars` and more, not a question) is a review,
    and the tone model learned from reviews: its verdict, from `review_tone`, stands against the intent
    model's, which learned from short chat messages and takes a hotel review for something unrelated
    or for an FAQ's question."""
    if len(text) < settings.review_chars or is_question(text) or not tone_readable(text):
        return None
    complaint, praise = parse.complaint_tone, parse.praise_tone
    if max(complaint, praise) < settings.review_tone or complaint == praise:
        return None
    return "complain" if complaint > praise else "praise"


def said_complaint(text: str, settings: Settings) -> bool:
    """A complaint said in words or by a low rating (`complains` decides on these before the models)."""
    stars = ratings.rating(text)
    return keywords_complain(text, settings) or (stars is not None and stars <= ratings.LOW)


def resolve_intent(parse: Parse, text: str, settings: Settings) -> tuple[str, float]:
    """The intent the policy acts on, after the tone, out-of-scope (`_unrelated`) and keyword safety
    nets. Asking for a person or for a ticket's status is never taken for a complaint."""
    if parse.intent == "praise" and is_question(text):
        parse = _second_choice(parse)
    intent, confidence = parse.intent, parse.confidence
    limits = thresholds(parse, settings)
    if asks_for_person(text, settings) and not asks_about_people(parse, text, settings):
        # named a person: gets one, whatever else the message says
        return "request_human", max(confidence if intent == "request_human" else 0.0, limits.answer_intent)
    asks = (intent == "request_human" or (intent == "ticket_status" and asks_progress(text)
                                          and not thanks_for_handling(parse, text, settings))) \
        and confidence >= limits.answer_intent
    verdict = None if asks or (is_faq(intent) and confidence >= settings.review_faq_sure) \
        else review_verdict(parse, text, settings)
    if verdict == "complain":
        return verdict, max(parse.complaint_tone, limits.answer_intent)
    if verdict == "praise" and not said_complaint(text, settings):  # a complaint said in words wins
        return verdict, max(parse.praise_tone, limits.answer_intent)
    if not asks and complains(parse, text, settings, limits):
        return "complain", max(confidence if intent == "complain" else parse.complaint_tone, limits.answer_intent)
    if not asks and praises(parse, text, settings, limits):
        return "praise", max(confidence if intent == "praise" else parse.praise_tone, limits.answer_intent)
    leans_to_praise = parse.praise_tone > parse.complaint_tone and confidence < settings.complaint_intent_firm
    if intent == "complain" and (hesitant(parse, text, settings) or leans_to_praise):
        # the tone did not bear out a complaint the intent model was unsure of (`complains`): "东西收到了"
        # at 0.22 is not one; a calm report it is sure of ("订单…少了一双袜子" at 0.33) stays one, unless
        # the tone leans to praise: the intent model learned that talking about a delivery is complaining
        # ("宝贝收到了,和描述的一样" at 0.30: complaint tone 0.29, praise 0.55)
        parse = _second_choice(parse)
        if parse.intent == "praise" and not praise_heard(parse, text, settings):
            # nor is it praise when the model's runner-up says so and the tone hears none: "东西收到了"
            # was thanked for a good review
            parse = _second_choice(parse)
        intent, confidence = parse.intent, parse.confidence
        limits = thresholds(parse, settings)
    unrelated = _unrelated(parse, settings, limits)
    if unrelated is not None:
        picked_person = asks and intent == "request_human"
        if (picked_person or is_faq(intent)) and complains(parse, text, settings, limits, answered=False):
            # the FAQ's question held an unhappy tone back from a ticket, or the model's pick of a person
            # kept the tone from being heard at all; declined, the customer would be brushed off
            # ("京东快递这次怎么也这么慢 四天了": FAQ 0.45, complaint tone 0.68; "差强人意" taken for a request for
            # a person at 0.2, complaint tone 0.97). A question about a ticket's progress names its
            # progress: it stays one, whatever 投诉 it says
            return "complain", max(parse.complaint_tone, limits.answer_intent)
        return "out_of_scope", unrelated
    if intent == "out_of_scope":
        return intent, confidence  # unsure or not, the polite decline fits: never a menu of FAQs
    threshold = limits.answer_faq if is_faq(intent) else limits.answer_intent
    if confidence < threshold:
        return FALLBACK, confidence
    return intent, confidence


def asks_ticket_status(parse: Parse | None, text: str, settings: Settings) -> bool:
    """Whether a customer waiting for a person asks how their complaint is going: the one thing
    the bot still answers in a queued thread."""
    return parse is not None and resolve_intent(parse, text, settings)[0] == "ticket_status"


def pick_option(text: str, state: ThreadState) -> str | None:
    """A reply of "1"/"2"/"3" to the last clarify menu picks that FAQ."""
    stripped = text.strip().rstrip(".")
    if state.clarify_options and stripped.isdigit() and 1 <= int(stripped) <= len(state.clarify_options):
        return state.clarify_options[int(stripped) - 1]
    return None


# "都不是", "不对", "没有我要问的" in reply to a clarify menu: none of its options
_NONE_OF_THEM = re.compile(r"(都|全都|全)?(不是|不对|没有)[的啊呀哦吧呢]?(这些|这个|我要的|我要问的|我想问的)?[的啊呀哦吧呢]?")


def rejects_options(text: str, state: ThreadState) -> bool:
    """Whether the customer turned down the whole of the last clarify menu. A person is the
    next step: asking again would offer what the customer just said is wrong, and the tone model
    would hear a complaint in "不是"."""
    return bool(state.clarify_options) and bool(_NONE_OF_THEM.fullmatch(_CLAUSE_END.sub("", text)))


def _status_faq(parse: Parse, known_faqs: frozenset[str], settings: Settings) -> str | None:
    """The FAQ a status question may be about when the customer has no ticket: the best-ranked FAQ the model would
    answer on its own. An insurer's "定损完了之后 在哪能看到案子处理到哪一步" is a status question to the intent
    model (0.45), and the claim-progress FAQ (0.29) is what a customer without a ticket wants to know."""
    threshold = thresholds(parse, settings).answer_faq
    return next((str(r["name"]) for r in parse.ranking if r["name"] in known_faqs and r["confidence"] >= threshold),
                None)


def decide(parse: Parse | None, text: str, state: ThreadState, settings: Settings,
           known_faqs: frozenset[str], public: bool = False) -> Decision:
    """Decide for a thread the bot owns. `parse` is None when there was nothing to read;
    `public`: the message was said in public (a mention)."""
    picked = pick_option(text, state)
    if picked is not None:
        return Decision("answer_faq", picked, 1.0, faq=picked)
    if rejects_options(text, state):
        return Decision("handoff", FALLBACK, None, reason="bot_failed")
    if parse is None:
        return Decision("decline", "out_of_scope", None)
    intent, confidence = resolve_intent(parse, text, settings)
    if is_faq(intent) and intent not in known_faqs:
        intent = FALLBACK  # the model knows an FAQ an admin has since deleted
    if intent == FALLBACK:
        if state.misunderstandings + 1 >= settings.max_misunderstandings:
            return Decision("handoff", intent, confidence, reason="bot_failed")
        options = tuple(r["name"] for r in parse.ranking if r["name"] in known_faqs)
        return Decision("clarify", intent, confidence, options=options[: settings.clarify_options])
    if is_faq(intent):
        return Decision("answer_faq", intent, confidence, faq=intent)
    if intent == "complain":
        return Decision("open_ticket", intent, confidence, reason="complaint",
                        priority=complaint_priority(text, settings, public))
    if intent == "request_human":
        return Decision("handoff", intent, confidence, reason="requested_human")
    if intent == "ticket_status":
        return Decision("ticket_status", intent, confidence, faq=_status_faq(parse, known_faqs, settings))
    if intent == "praise":
        return Decision("thank_praise", intent, confidence)
    if intent in SMALLTALK:
        return Decision("smalltalk", intent, confidence)
    return Decision("decline", "out_of_scope", confidence)
