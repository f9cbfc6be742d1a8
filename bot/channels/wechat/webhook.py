"""WeChat webhook routes: `/webhooks/wechat/{slug}`.

Verification, decryption and the XML reply are WeChat's; the rest is every channel's
(bot/channels/webhook.py). A push answered too late gets `success`.
"""
from __future__ import annotations

from bot.channels.wechat import inbound as wechat
from bot.secret_box import unseal
from bot.store.models import Account
from bot.channels.webhook import ChannelWebhook
from bot.channels.intake import Split

ACK = "success"


def wechat_credentials(account: Account) -> wechat.Credentials:
    sealed = account.credentials or {}
    return wechat.Credentials(app_id=account.app_id or "", secret=unseal(sealed["secret"]),
                              token=unseal(sealed["token"]),
                              aes_key=unseal(sealed["aes_key"]) if sealed.get("aes_key") else None)


class WeChatWebhook(ChannelWebhook[wechat.Credentials, wechat.Push]):
    platform, label, ack, content_type = wechat.PLATFORM, "WeChat", ACK, "application/xml"

    def credentials(self, account: Account) -> wechat.Credentials:
        return wechat_credentials(account)

    def verify_url(self, credentials: wechat.Credentials, query: dict[str, str]) -> str:
        return wechat.verify_url(credentials, query)

    def parse(self, credentials: wechat.Credentials, slug: str, query: dict[str, str], body: bytes) -> wechat.Push:
        return wechat.parse_push(credentials, slug, query, body, self.rt.settings.replay_window)

    def split(self, push: wechat.Push) -> Split:
        return wechat.split_content

    def render(self, push: wechat.Push, credentials: wechat.Credentials, reply: str) -> str:
        return wechat.render_reply(push, credentials, reply)
