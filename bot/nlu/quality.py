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
# a pair is reported when this share of one FAQ's examples went the other way in cross-validation
MIN_CONFUSED_SHARE = 0.2


@dataclass(frozen=True)
class WeakFaq:
    name: str
    reason: str  # in Chinese, for the admin


def weak_faqs(examples: dict[str, int], confusions: list[list[Any]]) -> list[WeakFaq]:
    """FAQs with fewer than MIN_EXAMPLES examples, then confused pairs (most confused first):
    `confusions` are [expected, predicted, count] of cross-validation."""
    weak = [WeakFaq(name, f"只有 {count} 个例句（标题问题也算一个），至少需要 {MIN_EXAMPLES} 个不同说法")
            for name, count in sorted(examples.items()) if is_faq(name) and count < MIN_EXAMPLES]
    for want, got, count in confusions:
        share = count / max(examples.get(want, 1), 1)
        if is_faq(want) and share >= MIN_CONFUSED_SHARE:
            weak.append(WeakFaq(want, f"有 {count} 个例句被误认为「{got}」：两者的例句太像，"
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
