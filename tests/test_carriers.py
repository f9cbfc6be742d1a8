"""FAQ examples taught behind carrier words (bot/nlu/carriers.py)."""
from tests.nlu_env import run_in_nlu_env

CARRIED = """
import numpy as np
from bot.nlu.carriers import carry
from bot.nlu.classifier import CalibratedIntentClassifier, Scorer
from bot.nlu.sentence_vectors import raw_vectors
import jieba

data = {
    "faq__balance": ["话费余额怎么查", "查询话费余额", "话费还剩多少"],
    "faq__plan": ["怎么换套餐", "套餐变更", "改个便宜的套餐"],
    "out_of_scope": ["帮我订一张机票", "帮我查一下明天天气", "帮我放首歌", "今天天气怎么样", "帮我叫个车",
                     "帮我查一下股票", "我想问一下彩票", "麻烦看看电影票", "请问附近有什么好吃的"],
}
texts = [t for ts in data.values() for t in ts]
labels = [label for label, ts in data.items() for _ in ts]
tokens = [jieba.lcut(t) for t in texts]
raw = raw_vectors(texts)

carried = carry(texts, tokens, labels, 4)
# four copies of each FAQ example, each behind another carrier; none of out_of_scope's examples
assert len(carried.texts) == 4 * 6, len(carried.texts)
assert set(carried.labels) == {"faq__balance", "faq__plan"}
for index in range(6):
    copies = [t for t, s in zip(carried.texts, carried.source) if s == index]
    assert len({t[:-len(texts[index])] for t in copies}) == 4 and all(t.endswith(texts[index]) for t in copies)
assert carried.texts == carry(texts, tokens, labels, 4).texts  # the same data gives the same copies
assert len(carried.of(np.array([0, 1])).texts) == 8

def out_of_scope_share(copies):
    scorer = Scorer(CalibratedIntentClassifier.get_default_config()).fit(texts, tokens, labels, raw, {},
                                                                         carry(texts, tokens, labels, copies))
    # the copies teach the linear model only: the nearest examples are the admin's own
    assert scorer.examples.shape[1] == len(texts)
    message = "帮我查一下话费还剩多少"
    fused, _, _ = scorer.score([message], [jieba.lcut(message)], raw_vectors([message]))
    row = dict(zip(scorer.classes, fused[0]))
    return row["out_of_scope"] / row["faq__balance"]

bare, carried_share = out_of_scope_share(0), out_of_scope_share(4)
assert carried_share < 0.8 * bare, (bare, carried_share)
print("carried")
"""


def test_an_faq_example_is_also_taught_behind_the_words_customers_wrap_questions_in():
    """Only out_of_scope's examples said 帮我 or 查一下, so a customer's "帮我查一下话费还剩多少" leaned to out of
    scope; taught behind carriers too, the balance FAQ holds it (the few-shot dev sets: docs/performance.md)."""
    assert run_in_nlu_env(CARRIED) == "carried"
