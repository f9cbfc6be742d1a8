"""FAQ examples wrapped in the everyday words customers put around a question, for the intent
classifier's linear model.

Why: an admin writes an FAQ's examples bare ("话费余额怎么查"); customers wrap them ("帮我看看这个号
还有多少钱", "周末转到别的行今天能到吗"). The only examples that hold such words are out_of_scope's
585, which ask a general assistant for things ("帮我订明天的机票", "今天天气怎么样": 帮 in 46 of them,
今天 in 19), so the linear model learned that 帮我, 今天 and 一下 mean "out of scope", and real questions
of a new FAQ set were declined or given a low score. Each FAQ example is also taught with a few of these
words in front of it, so that they weigh for no intent in particular. Only the linear model learns from
the copies: the nearest examples, the centroids and the wording stay the admin's own, so a request that
merely shares the carrier words with a copy is not brought nearer to an FAQ.

Measured on the eight few-shot dev sets (stop 36, four copies of ten carriers, replayed through the
policy): the estimate at the issue's mix 0.790 -> 0.801 (bank 0.765 -> 0.779, telecom 0.763 -> 0.790; ride
0.843 -> 0.841), their out-of-scope requests declined 0.942 -> 0.940; on the demo model, general-assistant
requests declined 0.964 -> 0.973, other businesses' questions ticketed 0.047 -> 0.050 (4 of 1,210 lines),
the rest unchanged but for a line or two (the demo test set lost two). Two copies of six carriers
moved the estimate by 0.2 points only (docs/performance.md has the figures of `make bench`).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Sequence

import jieba
import numpy as np

from bot.nlu.names import from_rasa, is_faq
from bot.nlu.sentence_vectors import DIMENSIONS, raw_vectors

# what customers put in front of a question, each as frequent in out_of_scope's examples as in real questions
CARRIERS = ("帮我", "请问", "我想问一下", "今天", "麻烦看看", "帮我查一下", "你好 ", "刚才", "我想", "能不能")
# a step prime to len(CARRIERS): an example's copies never repeat a carrier
_STEP = 7


@dataclass(frozen=True)
class Carried:
    """The copies of the FAQ examples, and the example each was made from (`source`, an index
    into the training examples), so that a cross-validation fold learns only its own examples' copies."""

    texts: list[str]
    tokens: list[list[str]]
    labels: np.ndarray
    raw: np.ndarray
    source: np.ndarray

    def of(self, examples: np.ndarray) -> "Carried":
        """The copies of `examples` (indices of training examples) only."""
        kept = np.isin(self.source, examples)
        return Carried([t for t, k in zip(self.texts, kept) if k], [t for t, k in zip(self.tokens, kept) if k],
                       self.labels[kept], self.raw[kept], self.source[kept])


def carry(texts: Sequence[str], tokens: Sequence[Sequence[str]], labels: Sequence[str], copies: int) -> Carried:
    """`copies` copies of each FAQ example, each behind another carrier (chosen by the example's text, so
    that training twice on the same data gives the same copies); none of the other intents' examples."""
    out_texts: list[str] = []
    out_tokens: list[list[str]] = []
    out_labels: list[str] = []
    source: list[int] = []
    count = min(copies, len(CARRIERS))
    carrier_words = {carrier: [word for word in jieba.lcut(carrier) if word.strip()] for carrier in CARRIERS}
    for index, (text, words, label) in enumerate(zip(texts, tokens, labels)):
        if count <= 0 or not is_faq(from_rasa(str(label))):
            continue
        start = zlib.crc32(text.encode("utf-8"))
        for copy in range(count):
            carrier = CARRIERS[(start + copy * _STEP) % len(CARRIERS)]
            out_texts.append(carrier + text)
            out_tokens.append(carrier_words[carrier] + list(words))
            out_labels.append(label)
            source.append(index)
    raw = raw_vectors(out_texts) if out_texts else np.zeros((0, DIMENSIONS), dtype=np.float32)
    return Carried(out_texts, out_tokens, np.asarray(out_labels, dtype=object), raw, np.asarray(source, dtype=int))


def row_weights(labels: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row the linear model learns from (`rows`: the examples' labels, then the copies'), the weight that
    balances the classes by the examples alone, as scikit-learn's class_weight="balanced" does for them: an
    example's copies share its weight rather than add to their class's. Added to it, the copies made each FAQ
    five times as heavy against complain and out_of_scope, and the demo model filed 0.8 points more of other
    businesses' questions as complaints."""
    row_classes, row_counts = np.unique(rows, return_counts=True)
    # balanced weight len / (classes x count), times count / rows of the class: the class's count cancels
    per_class = dict(zip(row_classes, len(labels) / (len(np.unique(labels)) * row_counts)))
    return np.array([per_class[row] for row in rows])
