"""Intent names as the catalogue spells them versus as the Rasa pipeline is trained.

The pipeline classifies FAQ keys as flat intents (measured: better out-of-scope rejection
and half the parse time of a ResponseSelector), and Rasa reads `faq/x` in training data
as a retrieval intent. So FAQ intents are trained as `faq__x` and mapped back on output.
"""
from __future__ import annotations

FAQ_PREFIX = "faq/"
_FLAT_PREFIX = "faq__"
# the intent classifier's calibration inside a model archive (written in the worker, read by both sides)
CALIBRATION_FILE = "calibration.json"
# the shape of what our components store in a model, written into the calibration: a model of
# another format cannot be served by this code and is refused at activation, not at the swap
# (1: n-grams only, no "format" key; 2: the classifier keeps the sentence vectors' space;
# 3: it also keeps the FAQ examples' wording vectorizer; 4: and the examples' text; 5: and the
# FAQs' answers in that wording; 6: its example matrices transposed and sorted by intent, for
# speed; 7: and what the taught text sounds like, for typos of pinyin input methods)
MODEL_FORMAT = 7
# an FAQ's answer in the training data the worker reads (Rasa's responses): utter_faq__x
ANSWER_PREFIX = "utter_"


def to_rasa(name: str) -> str:
    return _FLAT_PREFIX + name[len(FAQ_PREFIX):] if name.startswith(FAQ_PREFIX) else name


def from_rasa(name: str) -> str:
    return FAQ_PREFIX + name[len(_FLAT_PREFIX):] if name.startswith(_FLAT_PREFIX) else name


def is_faq(name: str) -> bool:
    return name.startswith(FAQ_PREFIX)
