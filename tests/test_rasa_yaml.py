import re
from pathlib import Path

import pytest

from bot.nlu import rasa_yaml
from bot.nlu.labelled import read_labelled, read_pairs
from bot.settings import PROJECT_ROOT
from bot.store.faq import FaqRecord

CATALOGUE = ["shipping_time", "delivery_tracking", "shipping_fee", "delivery_area", "change_address",
             "cancel_order", "return_policy", "refund_time", "exchange", "invoice", "payment_methods",
             "coupon", "membership_points", "price_protection", "warranty", "authenticity",
             "store_hours", "size_guide", "account_login", "presale", "stock", "service_hours"]
CONVERSATION = ["greet", "goodbye", "thanks", "bot_challenge", "complain", "praise", "request_human",
                "ticket_status", "out_of_scope"]


def test_default_data_covers_the_catalogue():
    records = rasa_yaml.read_faq(PROJECT_ROOT / "nlu_data" / "faq.yml")
    assert sorted(r.name for r in records) == sorted(f"faq/{n}" for n in CATALOGUE)
    assert all(len(r.examples) >= 15 and r.answer and r.question for r in records)
    blocks, _ = rasa_yaml.read(PROJECT_ROOT / "nlu_data" / "conversation.yml")
    counts = {b.name: len(b.examples) for b in blocks}
    assert sorted(counts) == sorted(CONVERSATION)
    assert all(counts[n] >= 40 for n in ("complain", "praise", "request_human", "out_of_scope"))


def test_render_and_read_round_trip(tmp_path: Path):
    records = [FaqRecord("faq/invoice", "怎么开发票？", ("怎么开发票", "要專票: 公司抬头"), "在订单页点“申请发票”即可。"),
               FaqRecord("faq/stock", "什么时候补货？", ("没货了", "# 不是注释"), "一般 7 天内补货")]
    path = tmp_path / "faq.yml"
    path.write_text(rasa_yaml.render_faq(records), encoding="utf-8")
    assert rasa_yaml.read_faq(path) == records


@pytest.mark.parametrize("text, line, words", [
    ('version: "3.1"\nnlu:\n- intent: faq/x\n  examples: |\n    - ok\n    not an example\n'
     'responses:\n  utter_faq/x:\n  - text: hi\n', 6, "must look like"),
    ('version: "3.1"\nnlu:\n- intent: faq/x\n  examples: |\n    - ok\n', 1, "no response"),
    ('version: "3.1"\nnlu:\n- intent: faq/x\n  examples: [\n', 5, "not valid YAML"),
    ('version: "3.1"\nnlu:\n- intent: "Bad Name"\n  examples: |\n    - ok\n', 3, "bad intent name"),
    ('version: "3.1"\nnlu:\n- intent: faq/x\n  examples: |\n    - a\n- intent: faq/x\n  examples: |\n    - b\n', 6, "twice"),
])
def test_errors_name_the_line(tmp_path: Path, text: str, line: int, words: str):
    path = tmp_path / "bad.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(rasa_yaml.TrainingFileError) as caught:
        rasa_yaml.read_faq(path)
    assert caught.value.line == line and words in str(caught.value)
    assert f"bad.yml:{line}:" in str(caught.value)


def test_written_review_sets_are_labelled_and_share_no_line():
    """The tone model trains on nlu_data/reviews.tsv and is judged on the shop_reviews and slang sets: a
    line in two of them would make the dev and test figures a score on training data."""
    sets = {name: list(zip(*read_labelled(path))) for name, path in (
        ("train", PROJECT_ROOT / "nlu_data" / "reviews.tsv"),
        ("dev", PROJECT_ROOT / "tests" / "data" / "shop_reviews_dev.tsv"),
        ("test", PROJECT_ROOT / "tests" / "data" / "shop_reviews_test.tsv"),
        ("slang dev", PROJECT_ROOT / "tests" / "data" / "slang_dev.tsv"),
        ("slang test", PROJECT_ROOT / "tests" / "data" / "slang_test.tsv"))}
    for name, rows in sets.items():
        assert {label for label, _ in rows} == {"complain", "praise", "neutral"}, name
        assert len({text for _, text in rows}) == len(rows), name
    train, *evaluation = ({text for _, text in rows} for rows in sets.values())
    assert not any(train & texts for texts in evaluation)
    assert not any(one & other for index, one in enumerate(evaluation) for other in evaluation[index + 1:])


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"[\s,.!?;:，。！？；：、~]", "", text.lower())
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def _close(one: set[str], other: set[str]) -> bool:
    """Within a character-bigram Jaccard of 0.5: too close for a training line to an evaluation line."""
    return len(one & other) >= 0.5 * len(one | other)


def test_the_tone_pairs_are_minimal_pairs_unlike_any_evaluation_line():
    """nlu_data/tone_pairs.yml expands to distinct praise and complaint lines, and no pair overlaps an
    evaluation line's character bigrams by half or more (trained on, it would flatter the figures)."""
    labels, texts = read_pairs(PROJECT_ROOT / "nlu_data" / "tone_pairs.yml")
    assert len(texts) == len(set(texts)) > 1000
    assert set(labels) == {"complain", "praise"}
    assert {"送货速度慢", "性价比很低", "不值得购买"} <= {t for t, label in zip(texts, labels) if label == "complain"}
    assert "好评" not in texts  # left out: within half of "好评好评好评" (tests/data/tone_test.tsv)
    evaluation = [_bigrams(text) for path in [*sorted((PROJECT_ROOT / "tests" / "data").glob("*.tsv")),
                                              *sorted((PROJECT_ROOT / "bench" / "data" / "fewshot").glob("*.tsv"))]
                  for text in read_labelled(path)[1]]
    assert len(evaluation) > 3000
    holding: dict[str, list[set[str]]] = {}
    for grams in evaluation:
        for gram in grams:
            holding.setdefault(gram, []).append(grams)
    close = [text for text, grams in ((text, _bigrams(text)) for text in texts)
             if any(_close(grams, other) for gram in grams for other in holding.get(gram, ()))]
    assert not close


def test_the_assistant_request_sets_are_unlike_the_requests_trained_on():
    """tests/data/assistant_{dev,test}.tsv measure how many requests to a phone's assistant ("给张三打电话",
    "打开收音机") are declined; the `out_of_scope` examples were written by another hand for the same 30
    topics, so a line within half of the character bigrams of one of them would be a score on training data."""
    blocks, _ = rasa_yaml.read(PROJECT_ROOT / "nlu_data" / "conversation.yml")
    trained = [_bigrams(text) for block in blocks if block.name == "out_of_scope" for text in block.examples]
    assert len(trained) > 500
    dev, test = ([_bigrams(text) for text in read_labelled(PROJECT_ROOT / "tests" / "data" / f"assistant_{split}.tsv")[1]]
                 for split in ("dev", "test"))
    assert len(dev) > 200 and len(test) > 200
    assert not [grams for grams in dev + test if any(_close(grams, other) for other in trained)]
    assert not [grams for grams in test if any(_close(grams, other) for other in dev)]
