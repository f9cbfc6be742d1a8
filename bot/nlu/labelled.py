"""Labelled text files, `label<TAB>text` per line (blank lines and # comments skipped): the held-out
sets the evaluation scores and the written reviews the tone model trains on. Plain Python, so both the
service and the NLU worker (which has no opencc) read them alike."""
from __future__ import annotations

from pathlib import Path


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
