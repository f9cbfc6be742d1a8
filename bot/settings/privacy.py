"""Privacy (PIPL): how long consumers' message text is kept. Read by the retention purge every
`carebot serve` runs (bot/desk/retention.py) and by `carebot purge`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class PrivacySettings:
    # message text older than this many days is replaced by a marker (0: kept forever)
    retention_days: int = 0
    # seconds between two purges of one server (each server purges; a purge is idempotent)
    retention_interval: float = 3600.0
