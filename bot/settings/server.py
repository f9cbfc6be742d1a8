"""Where this installation keeps its data and where its server is reached: what every
process (server, CLI, workers) of one home must agree on."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    home: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # how the platforms reach this server, shown by `carebot account add`
