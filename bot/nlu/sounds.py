"""Characters by their sound (pinyin without tones), for the typos a pinyin input method makes.

Why: customers type Chinese by its sound and pick a wrong character of the same sound: "发漂怎么开"
(发票), "我的快滴到哪了" (快递), "账户被冻洁了" (冻结). Such a message shares no character with the
examples in the very word it is about, so the character n-grams miss it, and the familiar-word check
(classifier.familiar_share) declines it as about something never taught; its sounds are the examples'.
With one such typo in each of the few-shot dev sets' paraphrases, 2 % more were taken for never taught,
and the right FAQ ranked first 7 points less often (bench/nlu_quality.py's `*_typo` rows measure it).

The table is built when a model is trained, from pypinyin's character readings (MIT licence, in the NLU
environment only), and kept with the model: the characters of GB2312 (the ones input methods offer
first) and every character of the training data, about 7,000 entries. Importing pypinyin in the
serving worker would cost about 60 MB of memory for its whole dictionary.

A character with several readings gets its first (most common) one, in examples and messages alike,
so a word and its typo still agree whenever the typo is of that reading.
"""
from __future__ import annotations

import unicodedata
from typing import Iterable

_GB2312_HAN = range(0xB0A1, 0xF7FF)  # GB2312 rows 16-87: the 6,763 Hanzi


def _toneless(reading: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", reading) if not unicodedata.combining(ch))


def _gb2312_hanzi() -> Iterable[str]:
    for code in _GB2312_HAN:
        try:
            yield code.to_bytes(2, "big").decode("gb2312")
        except UnicodeDecodeError:
            continue


def sound_table(texts: Iterable[str]) -> dict[str, str]:
    """Character -> toneless pinyin, for GB2312's Hanzi and every character of `texts`."""
    from pypinyin.pinyin_dict import pinyin_dict  # training only: see the module docstring

    chars = set(_gb2312_hanzi()).union(*map(set, texts))
    return {ch: _toneless(pinyin_dict[ord(ch)].split(",")[0]) for ch in chars if ord(ch) in pinyin_dict}


def sounds(text: str, table: dict[str, str]) -> list[str]:
    """The syllables of `text`'s characters that have one; any other character breaks the run."""
    return [table.get(ch, "|") for ch in text if not ch.isspace()]


class SoundGrams:
    """A vectorizer's analyzer: the 1-2-grams of a text's syllables (picklable, with its table)."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    def __call__(self, text: str) -> list[str]:
        heard = sounds(text.lower(), self.table)
        grams = [syllable for syllable in heard if syllable != "|"]
        grams += [f"{a} {b}" for a, b in zip(heard, heard[1:]) if "|" not in (a, b)]
        return grams
