"""Weibo webhook routes: `/webhooks/weibo/{slug}`.

Verification and the JSON reply are Weibo's; the rest is every channel's
(bot/channels/webhook.py). A push answered too late gets an empty body (Weibo's
acknowledgement) and its reply goes through `messages/reply.json`.
"""
from __future__ import annotations

from bot.channels.weibo import inbound as weibo
from bot.secret_box import unseal
from bot.store.models import Account
from bot.channels.webhook import ChannelWebhook
from bot.channels.intake import Split


def weibo_credentials(account: Account) -> weibo.Credentials:
    sealed = account.credentials or {}
    return weibo.Credentials(app_secret=unseal(sealed["app_secret"]), access_token=unseal(sealed["access_token"]),
                             uid=account.app_id or None)


class WeiboWebhook(ChannelWebhook[weibo.Credentials, weibo.Push]):
    platform, label, ack, content_type = weibo.PLATFORM, "Weibo", "", "application/json"

    def credentials(self, account: Account) -> weibo.Credentials:
        return weibo_credentials(account)

    def verify_url(self, credentials: weibo.Credentials, query: dict[str, str]) -> str:
        return weibo.verify_url(credentials, query)

    def parse(self, credentials: weibo.Credentials, slug: str, query: dict[str, str], body: bytes) -> weibo.Push:
        return weibo.parse_push(credentials, slug, query, body, self.rt.settings.replay_window)

    def split(self, push: weibo.Push) -> Split:
        # after a public mention only one reply may follow: the passive answer is kept whole
        return weibo.shorten_reply if push.message.public else weibo.split_reply

    def render(self, push: weibo.Push, credentials: weibo.Credentials, reply: str) -> str:
        return weibo.render_reply(push, reply)
