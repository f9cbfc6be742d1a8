"""The intent classifier: linear model and nearest examples over character and word n-grams and
pretrained sentence vectors, calibrated on its own cross-validation. Runs in the NLU worker only
(a Rasa graph component).

Why not DIET: trained from scratch on the 3-5 examples an admin gives a new FAQ, DIET routed
55 % of real paraphrases of a bank FAQ set, where a plain character n-gram nearest neighbour
got 82 %; and its confidence does not say how sure it is on text unlike its training data.
A regularised logistic regression over TF-IDF character n-grams (robust to typos, Traditional
characters, missing word boundaries) and jieba words (the tokenizer's dictionary), fused with
the similarity of the closest examples of each intent, learns from a few examples and trains
in seconds, so the model can cross-validate itself on every training run. N-grams only see
shared surface, so the sentence vectors of a pretrained encoder (sentence_vectors.py) stand
beside them, in the linear model's features and in the similarities: with them more of the
few-shot dev sets' paraphrases are routed at once, and fewer out-of-scope requests are taken for
FAQs (docs/performance.md). Last, the FAQs' share of the score is re-shared between them by
the wording of their own examples and answers (Scorer._by_wording): a customer who reuses an FAQ's
key term, or asks in its answer's words, is routed to it, which the features weighed over all
intents' data blurred. Before the n-grams and the wording are read, a homophone typo in one of the FAQs'
own terms is put right (Scorer.respelled: "快借利细" reads 利息), so that they meet the examples' (the sentence
vectors read the text as written). The linear model also learns each FAQ example behind the everyday
words customers wrap a question in (carriers.py: "帮我", "请问"), which only the out-of-scope examples held.
The model's own cross-validation sets the thresholds the policy uses for THIS model (a new FAQ set is not
judged by the demo data's constants) and finds the FAQs an admin should improve
(bench/nlu_quality.py measures the choice; docs/performance.md has the figures).
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from functools import cached_property
from typing import Any, Callable, Dict, List, Optional, Sequence, Text

import jieba
import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack, issparse, vstack
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from bot.nlu.carriers import Carried, carry, row_weights
from bot.nlu.lean_sklearn import TfidfFeatures, column_major
from bot.nlu.names import ANSWER_PREFIX, CALIBRATION_FILE, MODEL_FORMAT, from_rasa, is_faq
from bot.nlu.persisted import PersistedComponent
from bot.nlu.sentence_vectors import SentenceSpace, raw_vectors
from bot.nlu.sounds import SoundGrams, sound_table, sounds

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


_HAN_PAIR = re.compile(r"[\u4e00-\u9fff]{2}")
# characters that mostly do grammar's work: a "typo" of one of them is more often a word boundary ("我的花呗" is
# not 的话, "洗完碗上" not 晚上, "不像新鲜的" not 不想)
_GRAMMAR_CHARACTERS = frozenset(word for word in FUNCTION_WORDS if len(word) == 1) \
    | frozenset("上着过又再很太最更没才已从向对为")
_LATIN_WORD = re.compile(r"[a-z]+(?:['-][a-z]+)*")


def _tokens(message: Message) -> list[str]:
    return [token.text.lower() for token in message.get(TOKENS_NAMES[TEXT]) or [] if token.text.strip()]


def familiar_share(tokens: Sequence[str], vocabulary: Dict[str, int], taught: str,
                   sounds_taught: Callable[[str], bool], sounds_like_a_word: Callable[[str], bool]) -> Optional[float]:
    """The share of the message's content words (not FUNCTION_WORDS, not punctuation) that some
    training example used; None when it has no content words. `taught`: the examples' text and the
    FAQs' answers (a customer may ask in the answer's words). `sounds_taught`: whether a word of two
    or more characters sounds like taught text (a typo of the pinyin input method: 发漂 for 发票);
    `sounds_like_a_word`: whether two characters sound like a taught word of two.

    A word in Latin letters counts as used: the examples are Chinese, and a customer who mixes in
    English ("account locked怎么解?", "early repay 有penalty吗") says what the Chinese examples say
    in other letters, which the sentence vectors read and the words cannot. Counted as never taught,
    3 of the few-shot dev sets' paraphrases were declined although the model ranked them right; no
    request of the out-of-scope dev set, English ones among them, was let through by counting them.

    A word counts as used when an example has it as a word, when it is part of an example's
    text, or when it holds a word an example has: jieba cuts a message by its context, so
    "副卡收不收年费" gives 收年费 and "咋回事" gives 回事, where the examples gave 年费 and 怎么回事.
    Counted by words alone, such questions were declined as about something never taught although
    the model ranked them right (29 of the few-shot dev sets' 1,510 paraphrases, 14 of the bank
    set's 300), and no request of the out-of-scope dev set was let through by the wider count."""
    content = [index for index, token in enumerate(tokens)
               if token not in FUNCTION_WORDS and any(ch.isalnum() for ch in token)]
    if not content:
        return None

    def used(word: str) -> bool:
        if word in vocabulary or _LATIN_WORD.fullmatch(word):
            return True
        if len(word) < 2:
            return False
        return word in taught or sounds_taught(word) or any(
            word[start:end] in vocabulary and word[start:end] not in FUNCTION_WORDS
            for start in range(len(word)) for end in range(start + 2, len(word) + 1))

    def heard_with_neighbour(index: int) -> bool:
        """A lone character that, with the lone character beside it, sounds like a taught word: jieba
        cuts a typo'd word it does not know into single characters ("怎么挂湿" -> 怎么 / 挂 / 湿, for 挂失),
        and the message was declined as about nothing taught. On the few-shot dev sets this changed no
        decision (such a typo is rarely a message's only content word); it did change the share of 87
        of their 3,020 texts (bench/nlu_quality.py)."""
        return len(tokens[index]) == 1 and any(
            0 <= other < len(tokens) and len(tokens[other]) == 1
            and sounds_like_a_word(tokens[min(index, other)] + tokens[max(index, other)])
            for other in (index - 1, index + 1))
    return round(sum(used(tokens[index]) or heard_with_neighbour(index) for index in content) / len(content), 4)


def _pretokenized(tokens: Sequence[str]) -> Sequence[str]:
    """The word vectorizer's analyzer: the tokenizer (jieba, with its dictionary) already split."""
    return tokens


def _compact(text: str) -> str:
    """The wording analyser's preprocessor: customers type with and without spaces."""
    return "".join(text.lower().split())


def _dense(matrix: Any) -> np.ndarray:
    return matrix.toarray() if issparse(matrix) else np.asarray(matrix)


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
        self.chars = TfidfFeatures(analyzer="char_wb", sublinear_tf=True,
                                     ngram_range=(config["min_ngram"], config["max_ngram"]))
        self.words = TfidfFeatures(analyzer=_pretokenized, sublinear_tf=True)
        # classes balanced by sample weights (carriers.row_weights), as class_weight="balanced" would
        self.model = LogisticRegression(C=config["C"], max_iter=3000)
        self.wording = TfidfFeatures(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, smooth_idf=False,
                                       preprocessor=_compact)
        # what the training texts sound like (sounds.py), for the typos of pinyin input methods
        self.sound_table: dict[str, str] = {}
        self.heard: TfidfFeatures | None = None  # the wording's syllable 1-2-grams
        self.taught_sounds = ""  # the taught text's syllables, one space between, " | " between texts
        # Matrices a message's features are multiplied by are kept transposed, one column per
        # example (or class, or answer), so that scoring converts nothing on every call; the
        # examples are sorted by intent, each intent's side by side in the order of `classes`,
        # so that an intent's closest example is one `np.maximum.reduceat` over its columns.
        self.faq_examples: csr_matrix | None = None  # the FAQ examples' wording
        self.faq_answers: csr_matrix | None = None  # per FAQ column, its answer's wording
        self.answer_vectors: np.ndarray = np.zeros((0, 0))  # and its answer's sentence vector
        self.faq_starts: np.ndarray = np.zeros(0, dtype=int)  # each FAQ column's first example
        self.faq_columns: list[int] = []
        self.space = SentenceSpace()
        self.examples: csr_matrix | None = None
        self.example_vectors: np.ndarray = np.zeros((0, 0))
        self.class_starts: np.ndarray = np.zeros(0, dtype=int)  # each class's first example
        self.centroids: np.ndarray = np.zeros((0, 0))
        self.centroid_vectors: np.ndarray = np.zeros((0, 0))
        self.example_share: np.ndarray = np.zeros(0)
        self.class_share: np.ndarray = np.zeros(0)
        self.labels: np.ndarray = np.array([])
        self.taught = ""  # the training examples' text, for familiar_share
        self.faq_text: dict[str, str] = {}  # per FAQ (Rasa name), its examples' and answer's text
        self.classes: list[str] = []

    def _features(self, texts: Sequence[str], tokens: Sequence[Sequence[str]], fit: bool = False) -> csr_matrix:
        chars = self.chars.fit_transform(texts) if fit else self.chars.transform(texts)
        words = self.words.fit_transform(tokens) if fit else self.words.transform(tokens)
        return normalize(hstack([chars, self.config["word_weight"] * words]).tocsr())

    def _combined(self, features: csr_matrix, vectors: np.ndarray) -> csr_matrix:
        """The linear model's input: the n-grams beside the sentence vectors."""
        return normalize(hstack([features, csr_matrix(self.config["vector_weight"] * vectors)]).tocsr())

    @staticmethod
    def _similarity(features: csr_matrix, vectors: np.ndarray, columns: Any, column_vectors: np.ndarray,
                    share: np.ndarray) -> np.ndarray:
        """Cosine similarity to each of `columns` (examples or centroids, transposed) mixed from
        the n-grams and the sentence vectors (`share` of it, per column): the n-grams keep exact
        wording (names, numbers, typos), the vectors bring paraphrases."""
        ngrams = _dense(features @ columns)
        return (1 - share) * ngrams + share * (vectors @ column_vectors.T)

    def _vector_share(self, labels: Sequence[str]) -> np.ndarray:
        """The vectors' share of the similarity to each of `labels`' examples or centroids. An FAQ
        asks one thing, so its examples' meaning is one place; a conversation intent gathers
        varied texts (complain: every product problem, out_of_scope: every other topic) whose mean
        meaning says little, and "我要投诉" is nearer ticket_status's "我的投诉处理得怎么样了" than
        that mean: those are found by wording and by the linear model."""
        share = self.config["vector_similarity"]
        return np.array([share if is_faq(from_rasa(str(label))) else 0.0 for label in labels])

    def fit(self, texts: Sequence[str], tokens: Sequence[Sequence[str]], labels: Sequence[str],
            raw: np.ndarray, answers: Dict[str, str], carried: Optional[Carried] = None) -> "Scorer":
        """`answers`: the FAQs' answers by intent (Rasa name); an FAQ without one has only its examples.
        `carried`: the FAQ examples behind carrier words (carriers.py), which the linear model alone learns from."""
        order = np.argsort(np.asarray(labels), kind="stable")
        texts, tokens, labels, raw = [texts[i] for i in order], [tokens[i] for i in order], \
            np.asarray(labels)[order], raw[order]
        features = self._features(texts, tokens, fit=True)
        vectors = self.space.fit(raw).transform(raw)
        self.examples, self.example_vectors, self.labels = features.T.tocsr(), vectors, labels
        # an answer's words were taught too: "卡能先冻结吗" asks the lost-card FAQ whose answer says 冻结
        self.taught = "\n".join([*texts, *answers.values()]).lower()
        self.sound_table = sound_table([self.taught])
        self.heard = TfidfFeatures(analyzer=SoundGrams(self.sound_table), sublinear_tf=True, smooth_idf=False)
        self.taught_sounds = " " + " | ".join(self._heard(line) for line in self.taught.split("\n")) + " "
        learned, targets = self._combined(features, vectors), self.labels
        if carried is not None and len(carried.texts):
            learned = vstack([learned, self._combined(self._features(carried.texts, carried.tokens),
                                                      self.space.transform(carried.raw))]).tocsr()
            targets = np.concatenate([targets, carried.labels.astype(targets.dtype)])
        self.model = column_major(self.model.fit(learned, targets, sample_weight=row_weights(self.labels, targets)))
        self.classes = list(self.model.classes_)
        self.class_starts = np.searchsorted(self.labels, self.classes)
        self.centroids = np.ascontiguousarray(normalize(np.vstack([
            np.asarray(features[self.labels == label].mean(axis=0)) for label in self.classes])).T)
        self.centroid_vectors = normalize(np.vstack([vectors[self.labels == label].mean(axis=0)
                                                     for label in self.classes]))
        self.example_share, self.class_share = self._vector_share(self.labels), self._vector_share(self.classes)
        faq = np.array([is_faq(from_rasa(str(label))) for label in self.labels], dtype=bool)
        self.faq_columns = [j for j, label in enumerate(self.classes) if is_faq(from_rasa(str(label)))]
        if self.faq_columns:
            faq_texts = [text for text, kept in zip(texts, faq) if kept]
            faq_answers = [answers.get(self.classes[column], "") for column in self.faq_columns]
            wording = self._wording(faq_texts + faq_answers, fit=True)
            self.faq_examples, self.faq_answers = wording[:len(faq_texts)].T.tocsr(), wording[len(faq_texts):].T.tocsr()
            self.answer_vectors = self.space.transform(raw_vectors(faq_answers))
            self.answer_vectors[[not answer for answer in faq_answers]] = 0.0
            self.faq_starts = np.searchsorted(self.labels[faq], [self.classes[column] for column in self.faq_columns])
            taught: dict[str, list[str]] = defaultdict(list)
            for text, label in zip(faq_texts, self.labels[faq]):
                taught[str(label)].append(text)
            self.faq_text = {label: "\n".join([*texts, answers.get(label, "")]).lower() for label, texts in taught.items()}
        return self

    def faq_words(self, tokens: Sequence[str], intent: str) -> list[str]:
        """The message's content words that the FAQ `intent` itself was taught in (its examples and answer):
        what the admin named as that FAQ's business. An insurer's claim FAQ says 住院: "住院了怎么理赔" names no
        harm to escalate, where a shop's FAQ never says it. Empty for a model trained before it was kept."""
        text = getattr(self, "faq_text", {}).get(intent)
        if not text:
            return []
        found: dict[str, None] = {}
        for token in tokens:
            if token in FUNCTION_WORDS or not any(ch.isalnum() for ch in token):
                continue
            # jieba cuts by context: "住院费能报吗" gives 住院费 where the examples said 住院
            words = [token] if token in text else [token[start:end] for start in range(len(token))
                                                   for end in range(start + 2, len(token) + 1) if token[start:end] in text]
            found.update(dict.fromkeys(words))
        return list(found)

    def _heard(self, text: str) -> str:
        """`text`'s syllables, one space between (as `taught_sounds` holds them)."""
        return " ".join(sounds(text, self.sound_table))

    @cached_property
    def _word_sounds(self) -> frozenset[str]:
        """The syllables of every taught word of two characters. Derived on first use, not stored:
        a model trained before it was needed serves it too."""
        return frozenset(self._heard(word) for word in self.words.vocabulary_
                         if isinstance(word, str) and len(word) == 2)

    def sounds_like_a_word(self, pair: str) -> bool:
        """Whether two characters sound like a taught word of two characters (familiar_share). A word,
        not any two neighbouring syllables of taught text as `sounds_taught` takes: two lone characters
        jieba could not join are mostly not a word at all, and a large model's text holds a good share
        of all syllable pairs."""
        return self._heard(pair) in self._word_sounds

    def sounds_taught(self, word: str) -> bool:
        """Whether `word` (two or more characters) sounds like some taught text (familiar_share)."""
        heard = self._heard(word)
        return len(word) >= 2 and "|" not in heard and f" {heard} " in self.taught_sounds

    @cached_property
    def _taught_pairs(self) -> frozenset[str]:
        return frozenset(self.taught[start:start + 2] for start in range(len(self.taught) - 1))

    @cached_property
    def _words_by_sound(self) -> dict[str, str]:
        """Each word of two Chinese characters that the FAQs were taught in (their examples and answers: the
        admin's own terms, where a typo costs the most), by its syllables; the most used one of a sound."""
        faq_text = "\n".join(getattr(self, "faq_text", {}).values())
        uses = Counter({word: faq_text.count(word) for word in self.words.vocabulary_
                        if isinstance(word, str) and _HAN_PAIR.fullmatch(word)})
        table: dict[str, str] = {}
        for word, used in uses.most_common():
            if used and not _GRAMMAR_CHARACTERS.intersection(word):
                table.setdefault(self._heard(word), word)
        return table

    def respelled(self, text: str) -> str:
        """The text with each typo of a pinyin input method in an FAQ's term put right: two characters that
        were never taught, are no word of jieba's dictionary nor part of one with their neighbours, and sound
        like a term of the FAQs that shares one of them, which jieba then reads as a word in the corrected
        text ("快阶利细怎么算" asks 快借's 利息). The n-grams then meet the examples' own word. Left alone: an
        input method's wrong pick of a whole word (both characters wrong), and two characters that only sound
        like a term across a word boundary ("这家店能" is not 电能, "总共能用" not 功能)."""
        fixed = text
        start = 0
        while start < len(fixed) - 1:
            pair = fixed[start:start + 2]
            word = self._words_by_sound.get(self._heard(pair)) \
                if _HAN_PAIR.fullmatch(pair) and pair not in self._taught_pairs \
                and not _GRAMMAR_CHARACTERS.intersection(pair) else None
            if word and (word[0] == pair[0]) != (word[1] == pair[1]) \
                    and not any(jieba.get_FREQ(fixed[at:at + 2]) for at in (start - 1, start, start + 1) if at >= 0):
                candidate = fixed[:start] + word + fixed[start + 2:]
                if word in jieba.lcut(candidate):
                    fixed = candidate
                    start += 2
                    continue
            start += 1
        return fixed

    def _wording(self, texts: Sequence[str], fit: bool = False) -> csr_matrix:
        """Character 1-2-grams beside the syllables' (`sound_weight` of them): a homophone typo
        ("发漂" for 发票) keeps the latter."""
        assert self.heard is not None
        chars = self.wording.fit_transform(texts) if fit else self.wording.transform(texts)
        heard = self.heard.fit_transform(texts) if fit else self.heard.transform(texts)
        return normalize(hstack([chars, self.config["sound_weight"] * heard]).tocsr())

    def _by_wording(self, fused: np.ndarray, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Re-share the score the FAQs got between them by the wording of their closest example,
        weighed over the FAQs' examples only (character and syllable 1-2-grams, `_wording`). Customers
        mostly reuse an FAQ's key term ("转托管要几天"): the features above weigh terms over all the training data, where
        the conversation intents' hundreds of texts set what is rare, and the sentence vectors
        blur it ("要几天" is also how a transfer's arrival time is asked). The non-FAQ intents keep
        their scores, so complaints and out-of-scope requests are found as before. On the few-shot
        dev sets the paraphrases that share the key term (those the issue's character n-gram
        nearest-neighbour baseline gets right, 82.5 % of its real questions) are routed 78-94 % at
        once, for a loss of a few points on the indirect ones (docs/performance.md).

        The answer an admin wrote counts too, by its wording (`answer_weight` of its closeness) and
        its meaning (`answer_vector_weight` of its sentence vectors' cosine), added to the closest
        example's: it names what the question is about in more words than 3-5 short examples do
        ("临时挂失", "闪付"), and customers ask in those words. With it the few-shot dev sets' paraphrases
        were routed at once 1-5 points more often (bank 0.49 -> 0.54; docs/performance.md)."""
        weight = self.config["wording_weight"]
        if not weight or self.faq_examples is None or self.faq_answers is None:
            return fused
        wording = self._wording(texts)
        nearest = np.maximum.reduceat(_dense(wording @ self.faq_examples), self.faq_starts, axis=1)
        nearest = nearest + self.config["answer_weight"] * _dense(wording @ self.faq_answers)
        # a message that shares no character or syllable with any FAQ example or answer: its wording
        # says nothing
        weight = weight * (nearest.max(axis=1, keepdims=True) > 0)
        nearest = nearest + self.config["answer_vector_weight"] * vectors @ self.answer_vectors.T
        faqs = fused[:, self.faq_columns]
        reshared = fused.copy()
        reshared[:, self.faq_columns] = ((1 - weight) * faqs + weight * faqs.sum(axis=1, keepdims=True)
                                         * _sharpen(nearest, self.config["wording_temperature"]))
        return reshared

    def _respelled(self, texts: Sequence[str],
                   tokens: Sequence[Sequence[str]]) -> tuple[list[str], list[Sequence[str]]]:
        """The texts with their typos put right (`respelled`), a corrected one cut into words again."""
        fixed = [self.respelled(text) for text in texts]
        return fixed, [words if new == old else [word for word in jieba.lcut(new) if word.strip()]
                       for new, old, words in zip(fixed, texts, tokens)]

    def score(self, texts: Sequence[str], tokens: Sequence[Sequence[str]],
              raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per text: fused scores per class (rows sum to 1), and the similarity and index of the
        closest example of the best-scoring class."""
        texts, tokens = self._respelled(texts, tokens)
        features = self._features(texts, tokens)
        vectors = self.space.transform(raw)
        probabilities = self.model.predict_proba(self._combined(features, vectors))
        similarities = self._similarity(features, vectors, self.examples, self.example_vectors, self.example_share)
        nearest = np.maximum.reduceat(similarities, self.class_starts, axis=1)
        centroid = self._similarity(features, vectors, self.centroids, self.centroid_vectors, self.class_share)
        temperature, config = self.config["temperature"], self.config
        fused = (config["linear_weight"] * probabilities
                 + config["centroid_weight"] * _sharpen(centroid, temperature)
                 + (1 - config["linear_weight"] - config["centroid_weight"]) * _sharpen(nearest, temperature))
        fused = self._by_wording(fused, texts, vectors)
        # the closest example of the intent that scored best: a message unlike anything taught for
        # it is out of scope, even when an example of another intent (an FAQ, by meaning) is closer
        chosen = np.asarray(self.classes)[fused.argmax(axis=1)]
        own = np.where(self.labels[None, :] == chosen[:, None], similarities, -np.inf)
        best = own.argmax(axis=1)
        return fused, own[np.arange(len(best)), best], best


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
              raw: np.ndarray, answers: Dict[str, str], config: Dict[Text, Any],
              carried: Optional[Carried] = None) -> Dict[str, Any]:
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
        scorer = Scorer(config).fit([texts[i] for i in train], [tokens[i] for i in train], labels_array[train],
                                    raw[train], answers, carried.of(train) if carried is not None else None)
        fused, best_similarity, _ = scorer.score([texts[i] for i in test], [tokens[i] for i in test], raw[test])
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
        "oos_similarity": round(min(max(oos_similarity, config["min_oos_similarity"]), config["max_oos_similarity"]), 4),
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
                "vector_weight": 2.0, "vector_similarity": 0.85,
                # how much of the FAQs' score their examples' wording re-shares (Scorer._by_wording)
                "wording_weight": 0.4, "wording_temperature": 30.0, "answer_weight": 0.5, "answer_vector_weight": 0.3,
                # the syllables' share of the wording, beside its characters (Scorer._wording)
                "sound_weight": 0.5,
                # copies of each FAQ example behind carrier words, for the linear model (carriers.py)
                "carrier_copies": 4,
                "folds": 5, "random_seed": 42, "wrong_cost": 0.5, "oos_quantile": 0.02,
                "oos_ratio_quantile": 0.05,
                "min_threshold": 0.1, "max_threshold": 0.5, "max_oos_similarity": 0.25,
                # a message that shares next to nothing with the examples of the intent it is given
                # is out of scope even where cross-validation saw such pairs (a tiny data set:
                # "你好" and "在吗" share no character)
                "min_oos_similarity": 0.05,
                # the least share of the best intent's score that out_of_scope needs (without
                # out_of_scope examples its score is 0 and a ratio of 0 would decline everything).
                # The demo model's cross-validation asks for 0.17: a floor of 0.3 there let through
                # general-assistant requests whose score is just under it, 5 of 150 on the dev set,
                # once the FAQs' answers made their confidence a little higher
                "min_oos_ratio": 0.15}

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        texts = [m.get(TEXT) for m in examples]
        tokens = [_tokens(m) for m in examples]
        labels = [m.get(INTENT) for m in examples]
        raw = raw_vectors(texts)
        answers = {name[len(ANSWER_PREFIX):]: variants[0].get(TEXT, "")
                   for name, variants in training_data.responses.items() if name.startswith(ANSWER_PREFIX) and variants}
        carried = carry(texts, tokens, labels, self._config["carrier_copies"])
        calibration = {**calibrate(texts, tokens, labels, raw, answers, self._config, carried), "format": MODEL_FORMAT}
        scorer = Scorer(self._config).fit(texts, tokens, labels, raw, answers, carried)
        return self._persist(scorer, {CALIBRATION_FILE: json.dumps(calibration, ensure_ascii=False)})

    def process(self, messages: List[Message]) -> List[Message]:
        readable = [m for m in messages if (m.get(TEXT) or "").strip()]
        scorer: Optional[Scorer] = self._state
        if scorer is None or not readable:
            return messages
        texts = [m.get(TEXT) for m in readable]
        fused, best_similarity, best = scorer.score(texts, [_tokens(m) for m in readable], raw_vectors(texts))
        classes = scorer.classes
        for message, row, similarity, example in zip(readable, fused, best_similarity, best):
            order = np.argsort(-row)[:RANKING_LENGTH]
            ranking = [{"name": classes[j], "confidence": float(row[j])} for j in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            tokens = _tokens(message)
            message.set(NEAREST, {"intent": str(scorer.labels[example]),
                                  "similarity": round(float(similarity), 4),
                                  "familiar": familiar_share(tokens, scorer.words.vocabulary_,
                                                             scorer.taught, scorer.sounds_taught,
                                                             scorer.sounds_like_a_word),
                                  "faq_words": scorer.faq_words(tokens, str(ranking[0]["name"]))},
                        add_to_output=True)
        return messages
