"""WeChat official accounts (微信公众号): inbound pushes (inbound.py), their webhook
(webhook.py), the customer-service message API (api.py), the CLI sub-commands (cli.py) and
the simulator they use (simulate.py), the unionid lookups that link a person's identities
(unionid.py), registered as one `CHANNEL`."""
from __future__ import annotations

from bot.channels.base import Channel, Outbound
from bot.channels.wechat import cli
from bot.channels.wechat.api import WeChatApi
from bot.channels.wechat.inbound import MAX_REPLY_BYTES, PLATFORM, split_content
from bot.channels.wechat.unionid import UnionidLinker
from bot.channels.wechat.webhook import WeChatWebhook, wechat_credentials
from bot.runtime import Runtime
from bot.store.models import Account
from bot.store.tokens import DbTokenStore


def outbound(rt: Runtime) -> Outbound:
    """Replies through the customer-service API, with one access token shared by all processes."""
    api = WeChatApi(rt.settings.wechat_api_base, DbTokenStore(rt.db), rt.settings.platform_timeout)

    async def send(account: Account, recipient: str, text: str) -> None:
        await api.send_text(account.id, wechat_credentials(account), recipient, text)

    return Outbound(send, api.close)


async def link_unionids(rt: Runtime) -> None:
    """Looks up the unionids of followers of open-platform-bound accounts and links them (unionid.py)."""
    await UnionidLinker(rt).run()


CHANNEL = Channel(PLATFORM, "WeChat", "微信", webhook=WeChatWebhook, outbound=outbound, commands=cli.add_commands,
                  reply_parts=split_content, reply_limit=f"{MAX_REPLY_BYTES} 字节", background=link_unionids)
