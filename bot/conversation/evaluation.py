"""How well the bot understands: intent accuracy after the policy's safety nets.

Measured on what the policy acts on (thresholds, the out-of-scope signal, complaint
keywords), not on the raw classifier: that is what customers get. The figures the quality
bar names are reported on their own: complaints caught and out-of-scope declined.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.nlu.result import Parse
from bot.conversation.policy import FALLBACK, resolve_intent
from bot.nlu.normalize import is_meaningful
from bot.settings import Settings


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    pairs: list[tuple[str, str, str]] = field(default_factory=list)  # expected, predicted, text

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def recall(self, intent: str, accept: tuple[str, ...] = ()) -> float:
        wanted = [p for e, p, _ in self.pairs if e == intent]
        return sum(p == intent or p in accept for p in wanted) / len(wanted) if wanted else 0.0

    def precision(self, intent: str) -> float:
        got = [e for e, p, _ in self.pairs if p == intent]
        return sum(e == intent for e in got) / len(got) if got else 0.0

    def confusions(self, top: int = 10) -> list[tuple[tuple[str, str], int]]:
        return Counter((e, p) for e, p, _ in self.pairs if e != p).most_common(top)

    def summary(self) -> dict[str, float]:
        return {"accuracy": round(self.accuracy, 4),
                "complaints_caught": round(self.recall("complain"), 4),
                # an out-of-scope message is declined when it is not acted on as something else
                "out_of_scope_declined": round(self.recall("out_of_scope", accept=(FALLBACK,)), 4),
                "examples": self.total}

    def table(self) -> str:
        intents = sorted({e for e, _, _ in self.pairs} | {p for _, p, _ in self.pairs})
        lines = [f"{'intent':32} {'precision':>9} {'recall':>7} {'support':>7}"]
        for intent in intents:
            support = sum(e == intent for e, _, _ in self.pairs)
            lines.append(f"{intent:32} {self.precision(intent):9.2f} {self.recall(intent):7.2f} {support:7d}")
        lines.append("worst confusions (expected -> predicted: count):")
        lines += [f"  {e} -> {p}: {n}" for (e, p), n in self.confusions()]
        return "\n".join(lines)


def acted_on(parse: Parse | None, text: str, settings: Settings) -> str:
    if parse is None or not is_meaningful(text):
        return "out_of_scope"
    return resolve_intent(parse, text, settings)[0]


PARSE_CHUNK = 128


async def parse_all(prepare: Callable[[str], str], understand: Callable[[list[str]], Awaitable[list[Parse]]],
                    texts: list[str]) -> list[Parse | None]:
    """Normalise and parse many texts in chunks (one model load, batched parses); None for
    text with nothing to understand (it is out of scope)."""
    prepared = [prepare(t) for t in texts]
    wanted = [i for i, t in enumerate(prepared) if is_meaningful(t)]
    results: list[Parse | None] = [None] * len(texts)
    for start in range(0, len(wanted), PARSE_CHUNK):
        chunk = wanted[start:start + PARSE_CHUNK]
        for index, parse in zip(chunk, await understand([prepared[i] for i in chunk])):
            results[index] = parse
    return results


def score(expected: list[str], texts: list[str], parses: list[Parse | None], settings: Settings) -> Report:
    report = Report()
    for want, text, parse in zip(expected, texts, parses):
        got = acted_on(parse, text, settings)
        report.total += 1
        report.correct += got == want
        report.pairs.append((want, got, text))
    return report


