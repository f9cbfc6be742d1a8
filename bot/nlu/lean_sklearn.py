"""Scikit-learn's vectorizers and linear models, without the per-call costs that dominate a
small batch's parse in the NLU worker (sklearn 1.1, scipy 1.10: the versions Rasa 3.6 pins).

Why: the webhook parses a few messages at a time. On such a batch two fixed costs took about a
third of the worker's time (profiled with py-spy under bench/webhook.py's load; the figures it
changed are in docs/performance.md):
- `TfidfVectorizer.transform` checks that it is fitted by reading its `idf_` property, which
  rebuilds the IDF vector by summing a features x features diagonal matrix: four vectorizers,
  about 1.5 ms a batch whatever its size.
- a linear model's `decision_function` multiplies the sparse features by `coef_.T`; scipy copies
  a transposed (non-contiguous) matrix before multiplying: 3 x 200,000 weights for the tone
  model, about 4 ms a batch. Kept in column-major order, `coef_.T` is contiguous and used as is.
Both give the same numbers as scikit-learn's own path (tests/test_lean_sklearn.py).
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize


class TfidfFeatures(TfidfVectorizer):
    """A `TfidfVectorizer` whose `transform` skips the fitted-check that rebuilds the IDF vector."""

    def transform(self, raw_documents: Iterable[Any]) -> csr_matrix:
        counts = CountVectorizer.transform(self, raw_documents)
        if self.sublinear_tf:
            np.log(counts.data, counts.data)
            counts.data += 1
        if self.use_idf:
            counts = counts @ self._tfidf._idf_diag
        return normalize(counts, norm=self.norm, copy=False) if self.norm else counts


def column_major(model: Any) -> Any:
    """The fitted linear `model` with its weights stored so that `coef_.T` needs no copy."""
    model.coef_ = np.asfortranarray(model.coef_)
    return model
