"""What the messaging platforms impose and how carebot talks to them: where their APIs are,
how long a call or a webhook may take, and each platform's reply window (how long and how
often we may write to a customer after they wrote), which is the platform's rule, not ours.

Each platform's own settings are one group (`WeChatSettings`, `WeiboSettings`) with its reply
window, listed in `REPLY_WINDOWS`. This layer may not import bot.channels, so the platform
names are spelled here. A channel that queues replies must be listed (tests/test_channel_registry.py
checks); one that does not (the console) gets WeChat's window.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReplyWindow:
    hours: int
    messages: int | None  # None: no limit on the count
    after_public: int | None  # the count after a public message (a mention)


@dataclass(frozen=True, kw_only=True)
class ChannelSettings:
    """What every platform's webhook and API client share."""

    platform_timeout: float = 10.0  # seconds for one call to a platform's API (then retried later)
    passive_budget: float = 3.5  # seconds a webhook waits for the bot before acknowledging
    human_click_key: str = "HUMAN_AGENT"  # the menu key whose click hands a thread to people


@dataclass(frozen=True, kw_only=True)
class WeChatSettings:
    wechat_api_base: str = "https://api.weixin.qq.com"
    # the customer-service message window: hours after the customer's last message, and replies
    window_hours: int = 48
    window_messages: int = 5
    # seconds between looks for followers of open-platform-bound accounts whose unionid is unknown
    wechat_unionid_interval: float = 5.0

    def wechat_window(self) -> ReplyWindow:
        return ReplyWindow(self.window_hours, self.window_messages, self.window_messages)


@dataclass(frozen=True, kw_only=True)
class WeiboSettings:
    weibo_api_base: str = "https://m.api.weibo.com"
    # replies within this long after a message, follow, click or scan (0: no count limit)
    weibo_window_hours: int = 48
    weibo_window_messages: int = 0
    # after a public @mention only this many replies (protocols.md: 1, unsure today)
    weibo_mention_replies: int = 1

    def weibo_window(self) -> ReplyWindow:
        return ReplyWindow(self.weibo_window_hours, self.weibo_window_messages or None, self.weibo_mention_replies)


# platform -> its reply window, read from its group's fields (when the settings are built, the
# groups are one `Settings`, which is what these are called with)
REPLY_WINDOWS: dict[str, Callable[[Any], ReplyWindow]] = {
    "wechat": WeChatSettings.wechat_window,
    "weibo": WeiboSettings.weibo_window,
}
DEFAULT_WINDOW = WeChatSettings.wechat_window
