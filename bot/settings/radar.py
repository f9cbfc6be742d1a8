"""The crisis radar: when complaints about one topic come fast enough to be a wave in the making
(bot/desk/radar.py), and where an alert is reported. Read by every server's periodic scan, so
all processes of a home must agree on them."""
from __future__ import annotations

from dataclasses import dataclass

RADAR_SCOPES = ("matrix", "account")


@dataclass(frozen=True, kw_only=True)
class RadarSettings:
    # how often each server scans the recent complaints (seconds)
    radar_interval: float = 30.0
    # an alert opens when at least `radar_min_count` complaints share a topic within the sliding
    # window, and that is at least `radar_rate_factor` times the topic's usual count for such a
    # window (its trailing daily rate over `radar_baseline_days` days before the window)
    radar_window_minutes: int = 30
    radar_min_count: int = 5
    radar_rate_factor: float = 3.0
    radar_baseline_days: int = 7
    # matrix: complaints of every account count together (one alert); account: each account alone
    radar_scope: str = "matrix"
    # each opened alert is POSTed here as JSON ("" = nowhere), like SLA breaches
    alert_webhook_url: str = ""
