"""The NLU workers: the environment they run in, the data and model they load, and how long
the service waits for them. Changing any of these changes which model answers, or how fast."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class NluSettings:
    models_dir: Path
    nlu_python: Path
    config_path: Path
    nlu_data_dir: Path
    nlu_workers: int = 1
    nlu_timeout: float = 5.0
    nlu_start_timeout: float = 180.0
    # a message is cut to this many characters before NLU (the stored text stays whole)
    nlu_max_chars: int = 200
