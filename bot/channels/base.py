"""What a channel is to the rest of carebot: one `Channel` per platform, listed once in
bot/channels/registry.py, which the app (webhook routes, outbound clients), the CLI
(`account add <platform>`, `simulate <platform>`) and the agents' pages (platform labels)
loop over. Adding a platform is a new package that builds one of these, plus one line there.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.channels.intake import Intake
from bot.channels.webhook import ChannelWebhook
from bot.runtime import Runtime
from bot.store.models import Account


@dataclass(frozen=True)
class Outbound:
    """An open platform API client as the outbox sees it: send one text, close at shutdown.
    `send` raises `SendError` (bot/channels/outbound.py) when the platform refuses."""

    send: Callable[[Account, str, str], Awaitable[None]]  # (account, recipient, text)
    close: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Channel:
    platform: str  # the name in webhook URLs, stored rows and CLI sub-commands ("wechat")
    label: str  # how the CLI and logs name it ("WeChat")
    page_label: str  # how the agents' pages name it, in Chinese ("微信")
    # the webhook at /webhooks/<platform>/<slug> (a ChannelWebhook subclass); None: no webhook
    webhook: Callable[[Runtime, Intake], ChannelWebhook[Any, Any]] | None = None
    # opens the client the outbox sends replies through; None: replies are never queued
    outbound: Callable[[Runtime], Outbound] | None = None
    # adds `account add <platform>` and `simulate <platform>`: (this channel, the `account add`
    # sub-parsers, the `simulate` sub-parsers); each parser's `func` is called with (Context, args)
    commands: Callable[["Channel", Any, Any], None] | None = None
    # how a long reply is cut into the platform's messages, and that limit in words (the FAQ
    # page shows an admin the parts before an over-long answer is saved); None: never cut
    reply_parts: Callable[[str], list[str]] | None = None
    reply_limit: str = ""
    # a task every server runs for the platform until shutdown (WeChat: unionid lookups); None: none
    background: Callable[[Runtime], Awaitable[None]] | None = None

