"""Write the few-shot held-out paraphrases again with one typo each, as a pinyin input method makes
them: one character replaced by a common character of the same sound ("退货地址是哪李"). Run in the NLU
environment (pypinyin, jieba), once: `.venv-nlu/bin/python bench/typo_sets.py`; the files it writes
(bench/data/fewshot/*.typo.tsv) are committed, so every benchmark run reads the same typos.

The sounds come from pypinyin's phrase-aware reading (`lazy_pinyin`), not from the classifier's own
table (bot/nlu/sounds.py, each character's first reading): the typos are not made to fit the model.
The replacement is one of the 3,500 characters of GB2312's first level that jieba's dictionary uses
most, of the same toneless syllable; the seed is fixed.
"""
from __future__ import annotations

import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

import jieba
from pypinyin import lazy_pinyin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.nlu.labelled import read_labelled  # noqa: E402

FEWSHOT = ROOT / "bench" / "data" / "fewshot"
COMMON = 3500  # characters an input method offers first
ALTERNATIVES = 8  # of the same sound, the most used


def _first_level(char: str) -> bool:
    """GB2312's first level: the 3,755 characters in everyday use."""
    try:
        encoded = char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(encoded) == 2 and 0xB0 <= encoded[0] <= 0xD7


def common_characters() -> list[str]:
    uses: Counter = Counter()
    with (Path(jieba.__file__).parent / "dict.txt").open(encoding="utf-8") as dictionary:
        for line in dictionary:
            word, count = line.split()[:2]
            for char in word:
                uses[char] += int(count)
    return [char for char, _ in uses.most_common() if _first_level(char)][:COMMON]


def main() -> None:
    sound_of = {char: lazy_pinyin(char)[0] for char in common_characters()}
    by_sound: dict[str, list[str]] = defaultdict(list)
    for char, sound in sound_of.items():  # most used first
        by_sound[sound].append(char)
    for heldout in sorted(FEWSHOT.glob("*.heldout.tsv")):
        rng = random.Random(f"7:{heldout.name}")  # a set of its own: a new set leaves the others' typos alone
        lines = [f"# {heldout.name} with one typo of a pinyin input method per line (bench/typo_sets.py)"]
        for intent, text in zip(*read_labelled(heldout)):
            places = [i for i, char in enumerate(text) if char in sound_of and len(by_sound[sound_of[char]]) > 1]
            if places:
                place = rng.choice(places)
                others = [c for c in by_sound[sound_of[text[place]]] if c != text[place]]
                text = text[:place] + rng.choice(others[:ALTERNATIVES]) + text[place + 1:]
            lines.append(f"{intent}\t{text}")
        target = heldout.with_name(heldout.name.replace(".heldout.", ".typo."))
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(target.name, len(lines) - 1)


if __name__ == "__main__":
    main()
