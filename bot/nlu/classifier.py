"""The intent classifier: linear model and nearest examples over character and word n-grams,
calibrated on its own cross-validation. Runs in the NLU worker only (a Rasa graph component).

Why not DIET: trained from scratch on the 3-5 examples an admin gives a new FAQ, DIET routed
55 % of real paraphrases of a bank FAQ set, where a plain character n-gram nearest neighbour
got 82 %; and its confidence does not say how sure it is on text unlike its training data.
A regularised logistic regression over TF-IDF character n-grams (robust to typos, Traditional
characters, missing word boundaries) and jieba words (the tokenizer's dictionary), fused with
the similarity of the closest examples of each intent, learns from a few examples and trains
in seconds, so the model can cross-validate itself on every training run. That
cross-validation sets the thresholds the policy uses for THIS model (a new FAQ set is not
judged by the demo data's constants) and finds the FAQs an admin should improve
(bench/nlu_quality.py measures the choice; docs/performance.md has the figures).
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any, Dict, List, Optional, Sequence, Text

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from bot.nlu.names import CALIBRATION_FILE
from bot.nlu.persisted import PersistedComponent

NEAREST = "nearest"
OUT_OF_SCOPE = "out_of_scope"
RANKING_LENGTH = 10
# words that say how something is asked, not what it is about: a message made of these and of
# words no training example ever used ("奥运会下一届在哪", "买房首付要多少") is about
# something the bot was not taught, however close its question words are to an FAQ's
FUNCTION_WORDS = frozenset(
    "什么 怎么 怎么办 怎么样 怎样 如何 为什么 为啥 哪里 哪儿 哪 哪个 多少 多久 几 是否 能否 可以 能 吗 呢 吧 啊 呀 "
    "了 的 地 得 是 我 你 您 他 她 它 我们 你们 他们 要 想 请问 一下 下 有 没有 在 这个 那个 这 那 会 能不能 "
    "可不可以 还 就 都 也 和 跟 给 把 被 让 到 去 说 问 咋 啥 嘛 么 个 一个 一 不".split())


def _tokens(message: Message) -> list[str]:
    return [token.text.lower() for token in message.get(TOKENS_NAMES[TEXT]) or [] if token.text.strip()]


def familiar_share(tokens: Sequence[str], vocabulary: Dict[str, int]) -> Optional[float]:
    """The share of the message's content words (not FUNCTION_WORDS, not punctuation) that some
    training example used; None when it has no content words."""
    content = [token for token in tokens if token not in FUNCTION_WORDS and any(ch.isalnum() for ch in token)]
    if not content:
        return None
    return round(sum(token in vocabulary for token in content) / len(content), 4)


def _pretokenized(tokens: Sequence[str]) -> Sequence[str]:
    """The word vectorizer's analyzer: the tokenizer (jieba, with its dictionary) already split."""
    return tokens


def _sharpen(scores: np.ndarray, temperature: float) -> np.ndarray:
    """A softmax over similarities: one clearly closer intent decides, near-ties stay ties."""
    sharp = np.exp(temperature * (scores - scores.max(axis=1, keepdims=True)))
    return sharp / sharp.sum(axis=1, keepdims=True)


class Scorer:
    """Probability per intent from the linear model, fused with the similarity to each intent's
    centroid and to its closest example. The similarities do not care how many examples an
    intent has: an FAQ with 5 examples competes fairly with an intent with 300 (the linear
    model alone, even class-balanced, lets the big intents take most paraphrases of a new FAQ)."""

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = config
        self.chars = TfidfVectorizer(analyzer="char_wb", sublinear_tf=True,
                                     ngram_range=(config["min_ngram"], config["max_ngram"]))
        self.words = TfidfVectorizer(analyzer=_pretokenized, sublinear_tf=True)
        self.model = LogisticRegression(C=config["C"], max_iter=3000, class_weight="balanced")
        self.examples: csr_matrix | None = None
        self.centroids: np.ndarray = np.zeros((0, 0))
        self.labels: np.ndarray = np.array([])
        self.classes: list[str] = []

    def _features(self, texts: Sequence[str], tokens: Sequence[Sequence[str]], fit: bool = False) -> csr_matrix:
        chars = self.chars.fit_transform(texts) if fit else self.chars.transform(texts)
        words = self.words.fit_transform(tokens) if fit else self.words.transform(tokens)
        return normalize(hstack([chars, self.config["word_weight"] * words]).tocsr())

    def fit(self, texts: Sequence[str], tokens: Sequence[Sequence[str]], labels: Sequence[str]) -> "Scorer":
        features = self._features(texts, tokens, fit=True)
        self.examples, self.labels = features, np.asarray(labels)
        self.model.fit(features, self.labels)
        self.classes = list(self.model.classes_)
        self.centroids = normalize(np.vstack([np.asarray(features[self.labels == label].mean(axis=0))
                                              for label in self.classes]))
        return self

    def score(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per text: fused scores per class (rows sum to 1), the best similarity to any example,
        and the index of that example."""
        features = self._features(texts, tokens)
        probabilities = self.model.predict_proba(features)
        similarities = (features @ self.examples.T).toarray()
        nearest = np.zeros_like(probabilities)
        for column, label in enumerate(self.classes):
            nearest[:, column] = similarities[:, self.labels == label].max(axis=1)
        centroid = np.asarray(features @ self.centroids.T)
        temperature, config = self.config["temperature"], self.config
        fused = (config["linear_weight"] * probabilities
                 + config["centroid_weight"] * _sharpen(centroid, temperature)
                 + (1 - config["linear_weight"] - config["centroid_weight"]) * _sharpen(nearest, temperature))
        best = similarities.argmax(axis=1) if similarities.size else np.zeros(len(texts), dtype=int)
        best_similarity = similarities.max(axis=1) if similarities.size else np.zeros(len(texts))
        return fused, best_similarity, best


def _folds(labels: Sequence[str], count: int, seed: int) -> np.ndarray:
    """Stratified fold numbers: each intent's examples dealt round-robin after a shuffle."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(labels), dtype=int)
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    for indices in by_label.values():
        order = rng.permutation(indices)
        start = int(rng.integers(count))
        for position, index in enumerate(order):
            fold[index] = (start + position) % count
    return fold


def _answer_threshold(confidence: np.ndarray, right: np.ndarray, wrong_cost: float) -> float:
    """The confidence from which answering gains more than it costs on held-out examples: every
    right answer counts 1, every wrong one `wrong_cost` (a clarify question costs nothing)."""
    order = np.argsort(-confidence)
    gain = np.cumsum(np.where(right[order], 1.0, -wrong_cost))
    if not len(gain):
        return 0.3
    return float(confidence[order][int(np.argmax(gain))])


def calibrate(texts: Sequence[str], tokens: Sequence[Sequence[str]], labels: Sequence[str],
              config: Dict[Text, Any]) -> Dict[str, Any]:
    """Cross-validate the scorer on its own training data and derive what the policy needs.

    - `answer_threshold`: below it the bot asks which FAQ was meant. Set where answering stops
      paying off on held-out examples (`_answer_threshold`).
    - `oos_similarity`: below it a message is unlike anything taught, whatever the classifier
      says. Set at the `oos_quantile` of in-scope held-out examples' similarity to the rest.
    - `oos_ratio`: a message whose out_of_scope score reaches this share of its best intent's is
      declined. Set so that only `oos_ratio_quantile` of the in-scope held-out examples routed
      right would be: an FAQ set with few examples (whose questions look more like anything else)
      gets a more lenient ratio than the demo data.
    - `confusions`: pairs of intents whose examples cross-validation mixed up (for the admin).
    """
    labels_array = np.asarray(labels)
    counts = Counter(labels)
    folds = _folds(labels, config["folds"], config["random_seed"])
    predicted = np.empty(len(labels), dtype=object)
    confidence = np.zeros(len(labels))
    similarity = np.zeros(len(labels))
    unrelated = np.zeros(len(labels))  # out_of_scope's score as a share of the best score
    for fold in range(config["folds"]):
        test = np.flatnonzero(folds == fold)
        train = np.flatnonzero(folds != fold)
        if not len(test) or len(set(labels_array[train])) < 2:
            continue
        scorer = Scorer(config).fit([texts[i] for i in train], [tokens[i] for i in train], labels_array[train])
        fused, best_similarity, _ = scorer.score([texts[i] for i in test], [tokens[i] for i in test])
        top = fused.argmax(axis=1)
        predicted[test] = [scorer.classes[j] for j in top]
        confidence[test] = fused[np.arange(len(test)), top]
        similarity[test] = best_similarity
        if OUT_OF_SCOPE in scorer.classes:
            unrelated[test] = fused[:, scorer.classes.index(OUT_OF_SCOPE)] / confidence[test]
    right = predicted == labels_array
    in_scope = labels_array != OUT_OF_SCOPE
    answer_threshold = _answer_threshold(confidence, right, config["wrong_cost"])
    oos_similarity = float(np.quantile(similarity[in_scope], config["oos_quantile"])) if in_scope.any() else 0.1
    answered = right & in_scope
    oos_ratio = float(np.quantile(unrelated[answered], 1 - config["oos_ratio_quantile"])) if answered.any() else 1.0
    confusions = Counter((want, got) for want, got in zip(labels_array[~right], predicted[~right]) if got)
    return {
        "answer_threshold": round(min(max(answer_threshold, config["min_threshold"]), config["max_threshold"]), 4),
        "oos_similarity": round(min(max(oos_similarity, 0.0), config["max_oos_similarity"]), 4),
        "oos_ratio": round(min(max(oos_ratio, config["min_oos_ratio"]), 1.0), 4),
        "cv_accuracy": round(float(right.mean()), 4),
        "recall": {label: round(float(right[labels_array == label].mean()), 4) for label in sorted(counts)},
        "examples": dict(sorted(counts.items())),
        "confusions": [[want, got, n] for (want, got), n in confusions.most_common()],
    }


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CalibratedIntentClassifier(PersistedComponent):
    """Sets `intent`, `intent_ranking` and `nearest` (the closest example's intent and
    similarity, and the share of the message's content words the training data knows) on every
    message; its calibration is a JSON file of the model, read by the worker
    (`model_calibration`) without loading the graph."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"min_ngram": 1, "max_ngram": 3, "word_weight": 0.7, "C": 10.0,
                # fusion weights (the closest example gets the rest), chosen on the few-shot dev
                # sets and the demo dev set (bench/nlu_quality.py)
                "linear_weight": 0.35, "centroid_weight": 0.5, "temperature": 20.0,
                "folds": 5, "random_seed": 42, "wrong_cost": 0.5, "oos_quantile": 0.02,
                "oos_ratio_quantile": 0.05,
                "min_threshold": 0.1, "max_threshold": 0.5, "max_oos_similarity": 0.25, "min_oos_ratio": 0.3}

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        texts = [m.get(TEXT) for m in examples]
        tokens = [_tokens(m) for m in examples]
        labels = [m.get(INTENT) for m in examples]
        calibration = calibrate(texts, tokens, labels, self._config)
        scorer = Scorer(self._config).fit(texts, tokens, labels)
        return self._persist(scorer, {CALIBRATION_FILE: json.dumps(calibration, ensure_ascii=False)})

    def process(self, messages: List[Message]) -> List[Message]:
        readable = [m for m in messages if (m.get(TEXT) or "").strip()]
        scorer: Optional[Scorer] = self._state
        if scorer is None or not readable:
            return messages
        fused, best_similarity, best = scorer.score([m.get(TEXT) for m in readable],
                                                          [_tokens(m) for m in readable])
        classes = scorer.classes
        for message, row, similarity, example in zip(readable, fused, best_similarity, best):
            order = np.argsort(-row)[:RANKING_LENGTH]
            ranking = [{"name": classes[j], "confidence": float(row[j])} for j in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            message.set(NEAREST, {"intent": str(scorer.labels[example]),
                                  "similarity": round(float(similarity), 4),
                                  "familiar": familiar_share(_tokens(message), scorer.words.vocabulary_)},
                        add_to_output=True)
        return messages
