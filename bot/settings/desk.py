"""The human side: when agents work, what the bot promises customers about them (first
response, SLA breaches and where they are reported) and whether a resolve asks for a rating.
Read by bot/desk/ and by the actions that hand a customer to people."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True, kw_only=True)
class DeskSettings:
    # business hours of human agents (local time in `timezone`), and the working days (1=Mon)
    business_hours: tuple[time, time] = (time(9, 0), time(21, 0))
    business_days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    timezone: str = "Asia/Shanghai"
    first_response_minutes: int = 30
    # SLA breaches: how often each server checks, and where they are POSTed as JSON ("" = nowhere)
    sla_check_interval: float = 15.0
    sla_webhook_url: str = ""
    # ask the customer for a 1-5 rating when an agent resolves (a resolve may still say no)
    csat_on_resolve: bool = True
