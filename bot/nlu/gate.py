"""The training gate: a new model replaces the active one only when it is not worse.

A bad FAQ edit must not reach customers seconds after `carebot train`, so the new model is
compared with the active one on the cross-validation both ran on their own training data at
training time (`NluModel.metrics["calibration"]`: accuracy over all examples, recall per
intent). Held back, it stays a candidate with the reasons; an admin may still activate it.

Tolerances: overall accuracy may fall by at most 2 points; an intent's recall by at most 10
points, a complaint's by at most 5 (a missed complaint is a ticket never opened), and in any
case by one example's worth (with 4 examples one misrouted example is 25 points of noise). An
intent the new data no longer has is not compared: removing an FAQ is an admin's decision.
"""
from __future__ import annotations

from typing import Any

ACCURACY_TOLERANCE = 0.02
RECALL_TOLERANCE = 0.10
COMPLAINT_RECALL_TOLERANCE = 0.05
COMPLAINT = "complain"


def _points(value: float) -> str:
    return f"{value * 100:.1f}"


def held_back(active: dict[str, Any], candidate: dict[str, Any]) -> list[str]:
    """Why the model with metrics `candidate` must not replace the one with `active`; [] if it may."""
    before, after = active.get("calibration") or {}, candidate.get("calibration") or {}
    if not before.get("recall"):
        return []  # the active model predates cross-validation at training time: nothing to compare
    if not after.get("recall"):
        return ["this model has no cross-validation figures (train it again with --force)"]
    reasons = []
    drop = round(before["cv_accuracy"] - after["cv_accuracy"], 4)
    if drop > ACCURACY_TOLERANCE:
        reasons.append(f"cross-validated accuracy {_points(after['cv_accuracy'])}% is {_points(drop)} points "
                       f"below the active model's {_points(before['cv_accuracy'])}% "
                       f"(tolerance {_points(ACCURACY_TOLERANCE)} points)")
    examples = after.get("examples", {})
    for intent, was in sorted(before["recall"].items()):
        now = after["recall"].get(intent)
        if now is None:
            continue
        tolerance = max(COMPLAINT_RECALL_TOLERANCE if intent == COMPLAINT else RECALL_TOLERANCE,
                        1 / max(examples.get(intent, 1), 1))
        if round(was - now, 4) > tolerance:
            reasons.append(f"recall of {intent} {_points(now)}% is {_points(was - now)} points below the active "
                           f"model's {_points(was)}% (tolerance {_points(tolerance)} points)")
    return reasons


def held_back_on_test_set(active: dict[str, Any] | None, candidate: dict[str, Any] | None) -> list[str]:
    """Why the candidate, with test set figures `candidate`, must not replace the active model
    with `active` (both of one test set: bot.conversation.retraining.score_test_set); [] if it may."""
    if not active or not candidate:
        return []
    reasons = []
    figures = (("accuracy", "accuracy", "examples", ACCURACY_TOLERANCE),
               ("complaints_caught", "complaints caught", "complaints", COMPLAINT_RECALL_TOLERANCE))
    for key, label, support, tolerance in figures:
        count = candidate.get(support) or 0
        if not count or key not in active or key not in candidate:
            continue  # no complaints in the set (or figures of an older version): nothing to compare
        allowed = max(tolerance, 1 / count)
        drop = round(active[key] - candidate[key], 4)
        if drop > allowed:
            reasons.append(f"on the deployment's test set, {label} {_points(candidate[key])}% (of {count} messages) "
                           f"is {_points(drop)} points below the active model's {_points(active[key])}% "
                           f"(tolerance {_points(allowed)} points)")
    return reasons
