"""What a complaint is about, as a few topic terms the crisis radar groups by (bot/desk/radar.py).

jieba segments the normalised text (Simplified, so 充電器 and 充电器 are one term) and tags parts
of speech: the terms are its nouns and product-like words ("充电器", "耳机", "iphone"), which is
what consumers name when one product fails them all at once. Complaints without any noun
("快递三天了还没到") fall back to their content verbs and adjectives, then to the FAQ the model
ranked first (the intent), so they still group. Words every complaint uses (投诉, 问题, 客服,
差评, the complaint keywords) and single characters (太, 了) are dropped: they would put every
complaint into one group.
"""
from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

with warnings.catch_warnings():  # jieba 0.42 imports the deprecated pkg_resources
    warnings.simplefilter("ignore")
    import jieba
    import jieba.posseg

from bot.nlu.normalize import normalise

jieba.setLogLevel(logging.WARNING)  # it announces its dictionary load on every start
# product words jieba's dictionary lacks or cuts wrongly ("充电头发热" is not about hair)
PRODUCT_WORDS = ("充电头", "充电宝", "充电线", "数据线", "耳机", "电池", "屏幕", "包裹", "快递员")

MAX_TERMS = 6
MAX_TERM_CHARS = 32  # radar_terms.term
NOUN_FLAGS = ("n", "nr", "ns", "nt", "nz", "nw", "ng", "vn", "an", "eng")
CONTENT_FLAGS = ("v", "vd", "a", "ad", "i", "l")
GENERIC = frozenset("""
投诉 问题 客服 差评 东西 商品 产品 商家 卖家 店家 公司 官方 品牌 服务 态度 质量 情况 事情 时候 时间 今天 昨天 明天
现在 已经 一直 还是 可以 没有 不是 就是 这个 那个 这样 那样 什么 怎么 为什么 怎么办 一下 真的 大家 朋友 感觉 觉得
垃圾 骗子 失望 生气 无语 离谱 需要 希望 要求 解决 处理 回复 答复 谢谢 你们 我们 他们 这么 那么 一个 几天 好几天
售后 客户 顾客 用户 消费者 麻烦 结果 为啥 居然 竟然 根本 到底 实在 特别 非常 太差 很差 不行 不好 有点 还有 而且
""".split())


def topic_terms(text: str, ranking: Sequence[dict[str, Any]] | None = None,
                stop_words: Iterable[str] = ()) -> list[str]:
    """At most MAX_TERMS terms of the complaint, in the order said; [] when it names nothing
    (and the model ranked no FAQ). `stop_words`: more words to drop (the deployment's
    complaint keywords)."""
    _load()
    dropped = GENERIC | {word.lower() for word in stop_words}
    words = [(pair.word.strip(), pair.flag) for pair in jieba.posseg.cut(normalise(text))]
    words = [(word, flag) for word, flag in words if len(word) >= 2 and word not in dropped and not word.isdigit()]
    for flags in (NOUN_FLAGS, CONTENT_FLAGS):
        terms = _unique(word[:MAX_TERM_CHARS] for word, flag in words if flag in flags)
        if terms:
            return terms[:MAX_TERMS]
    faqs = [entry.get("name", "") for entry in ranking or () if str(entry.get("name", "")).startswith("faq/")]
    return [faqs[0][:MAX_TERM_CHARS]] if faqs else []


@functools.cache
def _load() -> None:
    """Load jieba's dictionary (about a second) on first use, not on import: callers run this
    in a worker thread (the radar scan), never on the event loop."""
    for word in PRODUCT_WORDS:
        jieba.add_word(word, tag="n")


def _unique(words: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(words))
