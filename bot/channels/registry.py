"""The channels carebot serves: the one list that the app (webhook routes, outbound
clients), the CLI (`account add`, `simulate`) and the agents' pages (platform labels) loop
over. A new platform is a package building a `Channel` (bot/channels/base.py) and one line here.

Read as `registry.CHANNELS` when used (not imported by value), so that a test can register
a channel of its own.
"""
from __future__ import annotations

from bot.channels import console, wechat, weibo
from bot.channels.base import Channel

CHANNELS: tuple[Channel, ...] = (wechat.CHANNEL, weibo.CHANNEL, console.CHANNEL)


def page_labels() -> dict[str, str]:
    """platform -> how the agents' pages name it."""
    return {channel.platform: channel.page_label for channel in CHANNELS}
