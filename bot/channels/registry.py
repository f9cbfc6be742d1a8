"""The channels carebot serves: the one list that the app (webhook routes, outbound
clients), the CLI (`account add`, `simulate`) and the agents' pages (platform labels) loop
over. A new platform is a package building a `Channel` (bot/channels/base.py) and one line here.

Read as `registry.CHANNELS` when used (not imported by value), so that a test can register
a channel of its own.
"""
from __future__ import annotations

from typing import Any

from bot.channels import console, wechat, weibo
from bot.channels.base import Channel

CHANNELS: tuple[Channel, ...] = (wechat.CHANNEL, weibo.CHANNEL, console.CHANNEL)


def page_labels() -> dict[str, str]:
    """platform -> how the agents' pages name it."""
    return {channel.platform: channel.page_label for channel in CHANNELS}


def split_warnings(text: str, platforms: set[str] | None = None) -> list[dict[str, Any]]:
    """How each platform (of `platforms`, or all) would cut `text` when it is too long for one message:
    what the FAQ pages, API and `carebot faq import` show before an over-long answer goes live."""
    warnings = []
    for channel in CHANNELS:
        if channel.reply_parts is None or (platforms is not None and channel.platform not in platforms):
            continue
        parts = channel.reply_parts(text)
        if len(parts) > 1:
            warnings.append({"platform": channel.platform, "label": channel.page_label,
                             "limit": channel.reply_limit, "parts": parts})
    return warnings
