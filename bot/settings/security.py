"""Limits against abuse from outside: replayed platform pushes, password guessing and
connections that hold the server open. (The key that seals stored credentials,
CAREBOT_SECRET_KEY, is not held here: bot/secret_box.py reads it from the environment only,
never from `.env`, when it seals or opens one.)"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class SecuritySettings:
    replay_window: int = 600  # seconds a push's timestamp may be off; 0 turns the check off
    # login attempts (/login, /api/v1/auth/token) a minute per client address, per process (0: off)
    login_rate_limit: int = 20
    # seconds a connection may take to send a request's headers (and stay idle between requests)
    header_timeout: float = 20.0
    # a secret: when set, GET /metrics needs `Authorization: Bearer <it>` (from anywhere); when
    # unset, only loopback clients that came through no proxy may read it
    metrics_token: str = ""
