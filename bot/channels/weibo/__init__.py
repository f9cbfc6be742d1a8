"""Weibo's fan-service platform (微博粉丝服务平台): inbound pushes (inbound.py), their webhook
(webhook.py), `messages/reply.json` (api.py), the CLI sub-commands (cli.py) and the
simulator they use (simulate.py), registered as one `CHANNEL`."""
from __future__ import annotations

from bot.channels.base import Channel, Outbound
from bot.channels.weibo import cli
from bot.channels.weibo.api import WeiboApi
from bot.channels.weibo.inbound import MAX_REPLY_CHARS, PLATFORM, split_reply
from bot.channels.weibo.webhook import WeiboWebhook, weibo_credentials
from bot.runtime import Runtime
from bot.store.models import Account


def outbound(rt: Runtime) -> Outbound:
    """Replies through `messages/reply.json` with the account's own access token."""
    api = WeiboApi(rt.settings.weibo_api_base, rt.settings.platform_timeout)

    async def send(account: Account, recipient: str, text: str) -> None:
        await api.send_text(weibo_credentials(account), recipient, text)

    return Outbound(send, api.close)


CHANNEL = Channel(PLATFORM, "Weibo", "微博", webhook=WeiboWebhook, outbound=outbound, commands=cli.add_commands,
                  reply_parts=split_reply, reply_limit=f"{MAX_REPLY_CHARS} 字")
