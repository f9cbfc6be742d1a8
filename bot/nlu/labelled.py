"""Labelled text files, `label<TAB>text` per line (blank lines and # comments skipped): the held-out
sets the evaluation scores and the written reviews the tone model trains on; and the aspect x verdict
pairs it trains on too. Plain Python, so both the service and the NLU worker (which has no opencc) read
them alike."""
from __future__ import annotations

from pathlib import Path

import yaml


def read_labelled(path: Path) -> tuple[list[str], list[str]]:
    """The labels and the texts, in file order; a line without a tab is an error with its number."""
    labels, texts = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        if not sep:
            raise ValueError(f"{path}:{number}: expected 'label<TAB>text'")
        labels.append(label.strip())
        texts.append(text.strip())
    return labels, texts


def read_pairs(path: Path) -> tuple[list[str], list[str]]:
    """nlu_data/tone_pairs.yml expanded, as labels (complain, praise) and texts: every aspect of a group
    with each of its group's verdicts, less the file's `leave_out`."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    left_out = set(data.get("leave_out") or ())
    rows = [(label, f"{aspect}{verdict}") for group in data["groups"] for aspect in group["aspects"]
            for label in ("complain", "praise") for verdict in group[label]]
    kept = [(label, text) for label, text in rows if text not in left_out]
    return [label for label, _ in kept], [text for _, text in kept]
