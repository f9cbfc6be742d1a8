"""Settings from `CAREBOT_*` environment variables (and an optional `.env` file).

Everything an operator may want to tune lives here, so that thresholds and keyword lists
can change per deployment without a code change. Secrets are only ever read from the
environment and never given a default.

The fields are declared by concern, one group per module (server, nlu, policy, desk,
channels, security, privacy, radar; each says why its fields belong together), and composed into one flat
`Settings`, so code reads `settings.faq_threshold` whatever the group. A new setting is one
field in its group (parsed by its type, bot/settings/env.py) and a line in the README's table.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bot.settings.channels import (DEFAULT_WINDOW, REPLY_WINDOWS, ChannelSettings, ReplyWindow, WeChatSettings,
                                   WeiboSettings)
from bot.settings.desk import DeskSettings
from bot.settings.env import BLANK_IS_UNSET, PARSERS, PROJECT_ROOT, normalise_database_url, read_dotenv
from bot.settings.nlu import NluSettings
from bot.settings.policy import PolicySettings
from bot.settings.privacy import PrivacySettings
from bot.settings.radar import RADAR_SCOPES, RadarSettings
from bot.settings.security import SecuritySettings
from bot.settings.server import ServerSettings

__all__ = ["PROJECT_ROOT", "ReplyWindow", "Settings", "normalise_database_url"]


@dataclass(frozen=True, kw_only=True)
class Settings(ServerSettings, NluSettings, PolicySettings, DeskSettings, ChannelSettings, WeChatSettings,
               WeiboSettings, SecuritySettings, PrivacySettings,
               RadarSettings):
    """Resolved settings, every group's fields as one flat, frozen object; build with
    `Settings.from_env()`."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        """Every field from `CAREBOT_<FIELD NAME>`, parsed by its type (`PARSERS`); the paths
        first, as the others' defaults depend on them."""
        source = dict(read_dotenv(Path.cwd() / ".env"))
        source.update(os.environ if env is None else env)

        def get(name: str, default: str | None = None) -> str | None:
            return source.get(f"CAREBOT_{name}", default)

        home = Path(get("HOME", str(Path.cwd() / "var"))).resolve()
        database_url = get("DATABASE_URL") or f"sqlite+aiosqlite:///{home / 'carebot.sqlite3'}"
        kwargs: dict[str, Any] = {
            "home": home,
            "database_url": normalise_database_url(database_url),
            "models_dir": Path(get("MODELS_DIR", str(home / "models"))).resolve(),
            "nlu_python": Path(get("NLU_PYTHON", str(PROJECT_ROOT / ".venv-nlu" / "bin" / "python"))),
            "config_path": Path(get("NLU_CONFIG", str(PROJECT_ROOT / "config.yml"))),
            "nlu_data_dir": Path(get("NLU_DATA", str(PROJECT_ROOT / "nlu_data"))),
        }
        for spec in fields(cls):
            value = get(spec.name.upper())
            if spec.name not in kwargs and value is not None and (value or spec.type not in BLANK_IS_UNSET):
                kwargs[spec.name] = PARSERS[spec.type](spec.name, value)
        if kwargs.get("public_complaint_priority", "urgent") not in ("urgent", "high"):
            raise ValueError("CAREBOT_PUBLIC_COMPLAINT_PRIORITY must be urgent or high")
        if kwargs.get("retention_days", 0) < 0 or kwargs.get("retention_interval", 1) <= 0:
            raise ValueError("CAREBOT_RETENTION_DAYS must be 0 (keep forever) or more, CAREBOT_RETENTION_INTERVAL above 0")
        if kwargs.get("radar_scope", "matrix") not in RADAR_SCOPES:
            raise ValueError(f"CAREBOT_RADAR_SCOPE must be one of {', '.join(RADAR_SCOPES)}")
        for name in ("radar_interval", "radar_window_minutes", "radar_min_count", "radar_rate_factor",
                     "radar_baseline_days"):
            if kwargs.get(name, 1) <= 0:
                raise ValueError(f"CAREBOT_{name.upper()} must be positive")
        return cls(**kwargs)

    def reply_window(self, platform: str) -> ReplyWindow:
        """How long and how often a platform lets us write to a customer after they wrote
        (bot/settings/channels.py: each platform's window, from its own settings)."""
        return REPLY_WINDOWS.get(platform, DEFAULT_WINDOW)(self)
