"""What a model archive says about itself, read without Rasa.

The classifier stores its cross-validation in the archive (`calibration.json`); the worker sends
the thresholds with every parse, and the service reads the figures to register a model file it
did not train itself (a models directory shared between databases) and to gate it.
"""
from __future__ import annotations

import json
import tarfile
from typing import Any

from bot.nlu.names import CALIBRATION_FILE, MODEL_FORMAT, from_rasa


def model_calibration(model_path: str) -> dict[str, Any]:
    """What the intent classifier's cross-validation found when the model was trained (a file
    in the model archive; {} for a model without one). FAQ names come back as `faq/x`."""
    with tarfile.open(model_path) as archive:
        member = next((m for m in archive.getmembers() if m.name.endswith("/" + CALIBRATION_FILE)), None)
        if member is None:
            return {}
        data = json.loads(archive.extractfile(member).read())  # type: ignore[union-attr]
    data["recall"] = {from_rasa(k): v for k, v in data.get("recall", {}).items()}
    data["examples"] = {from_rasa(k): v for k, v in data.get("examples", {}).items()}
    data["confusions"] = [[from_rasa(a), from_rasa(b), n] for a, b, n in data.get("confusions", [])]
    return data


def served_format(calibration: dict[str, Any]) -> bool:
    """Whether this code can serve a model with this calibration: its components' stored state
    has the shape the code reads (a model from before a format change must be trained again)."""
    return calibration.get("format", 1) == MODEL_FORMAT
