"""What an admin should fix in their FAQ data, in words they understand.

The intent classifier cross-validates itself on every training run (bot/nlu/classifier.py);
this turns its findings into a short report for `carebot train` and `carebot nlu evaluate`:
FAQs with too few examples, and pairs of FAQs whose examples the model mixes up, before
customers find out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.nlu.names import is_faq

MIN_EXAMPLES = 3
# a pair is reported when at least this many, and this share, of one FAQ's examples went the
# other way in cross-validation: with 4-5 examples one stray example is noise, not a weak FAQ
MIN_CONFUSED = 2
MIN_CONFUSED_SHARE = 0.2
# what an admin reads for the intents that are not their FAQs
INTENT_WORDS = {"complain": "投诉", "out_of_scope": "与业务无关的问题", "praise": "表扬",
                "request_human": "转人工", "ticket_status": "查询工单"}


@dataclass(frozen=True)
class WeakFaq:
    name: str
    reason: str  # in Chinese, for the admin


def weak_faqs(examples: dict[str, int], confusions: list[list[Any]]) -> list[WeakFaq]:
    """FAQs with fewer than MIN_EXAMPLES examples, then FAQs whose examples cross-validation
    mixed up with other intents (most confused first; one line per FAQ): `confusions` are
    [expected, predicted, count] of cross-validation."""
    weak = [WeakFaq(name, f"只有 {count} 个例句（标题问题也算一个），至少需要 {MIN_EXAMPLES} 个不同说法")
            for name, count in sorted(examples.items()) if is_faq(name) and count < MIN_EXAMPLES]
    taken_for: dict[str, list[tuple[str, int]]] = {}
    for want, got, count in confusions:
        if is_faq(want) and count >= MIN_CONFUSED and count / max(examples.get(want, 1), 1) >= MIN_CONFUSED_SHARE:
            taken_for.setdefault(want, []).append((got, count))
    for want, pairs in sorted(taken_for.items(), key=lambda item: -sum(n for _, n in item[1])):
        others = "、".join(f"「{INTENT_WORDS.get(got, got)}」（{count} 个）" for got, count in pairs)
        weak.append(WeakFaq(want, f"{examples.get(want, 0)} 个例句中有例句被误认为 {others}：例句太像，"
                                  "请补充能区分它们的说法，或考虑合并"))
    return weak


def report(calibration: dict[str, Any]) -> str:
    """The calibration and the weak FAQs as lines of text ('' when the model has none)."""
    if not calibration:
        return ""
    lines = [f"Cross-validation of this model: {calibration['cv_accuracy']:.1%} of examples routed right; "
             f"thresholds set from it: answer at confidence >= {calibration['answer_threshold']}, "
             f"out of scope below similarity {calibration['oos_similarity']} or at "
             f"{calibration.get('oos_ratio', 1.0)} of the best intent's score."]
    lines.append(weak_faq_report(weak_faqs(calibration.get("examples", {}), calibration.get("confusions", []))))
    return "\n".join(lines)


def weak_faq_report(weak: list[WeakFaq]) -> str:
    if not weak:
        return "所有 FAQ 的例句都足够且互相区分得开。"
    return "\n".join([f"需要改进的 FAQ（{len(weak)} 条）:", *(f"  - {item.name}: {item.reason}" for item in weak)])
