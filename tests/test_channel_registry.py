"""Adding a platform is a package plus one line in the channel list: a toy third channel,
registered here only, gets its webhook route, its `account add` sub-command and its label
on the agents' pages without any other change."""
import pytest

from bot import cli
from bot.channels import admin, registry
from bot.channels.base import Channel
from bot.channels.weibo.webhook import WeiboWebhook
from bot.runtime import Runtime
from bot.settings import ReplyWindow, Settings
from bot.settings.channels import REPLY_WINDOWS
from bot.store.db import Database
from bot.web import inbox_pages
from bot.web.app import create_app
from tests.conftest import carebot_env


class ToyWebhook(WeiboWebhook):
    platform, label = "toy", "Toy"  # Weibo's signing and JSON, under another name


def toy_commands(channel: Channel, add, simulate) -> None:
    parser = admin.account_parser(add, channel, "a toy account")

    async def account_add(ctx, args) -> None:
        print(await admin.add_account(ctx, channel, args, None, {}))

    parser.set_defaults(func=account_add)


TOY = Channel("toy", "Toy", "玩具", webhook=ToyWebhook, commands=toy_commands)


@pytest.fixture
def with_toy(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(registry, "CHANNELS", (*registry.CHANNELS, TOY))
    for name, value in carebot_env(tmp_path, CAREBOT_PUBLIC_URL="https://care.example.com").items():
        monkeypatch.setenv(name, value)


def test_a_registered_channel_gets_its_route_command_and_label(with_toy, tmp_path, capsys) -> None:
    settings = Settings.from_env()
    rt = Runtime.assemble(settings, Database(settings.database_url))
    paths = {(route.method, route.resource.canonical) for route in create_app(rt).router.routes()}
    assert {("GET", "/webhooks/toy/{slug}"), ("POST", "/webhooks/toy/{slug}")} <= paths
    assert ("POST", "/webhooks/wechat/{slug}") in paths  # the others stay

    cli.main(["account", "add", "toy", "--slug", "shop", "--name", "玩具店"])
    assert capsys.readouterr().out.strip() == "https://care.example.com/webhooks/toy/shop"
    cli.main(["account", "list"])
    assert "/webhooks/toy/shop" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        cli.main(["account", "add", "toy", "--slug", "shop"])
    assert refused.value.code == 2 and "exists" in capsys.readouterr().err

    assert inbox_pages.labels()["platform_labels"]["toy"] == "玩具"


def test_without_registration_there_is_no_toy() -> None:
    assert "toy" not in {channel.platform for channel in registry.CHANNELS}
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["account", "add", "toy", "--slug", "shop"])


def test_every_channel_that_replies_declares_its_reply_window() -> None:
    """Settings may not import the channels, so each window is listed by platform name in
    bot/settings/channels.py; a channel whose replies are queued must be listed there (else it
    would silently get WeChat's)."""
    assert [c.platform for c in registry.CHANNELS if c.outbound and c.platform not in REPLY_WINDOWS] == []


def test_each_platform_reads_its_own_window_settings() -> None:
    settings = Settings.from_env({"CAREBOT_WINDOW_HOURS": "24", "CAREBOT_WINDOW_MESSAGES": "3",
                                  "CAREBOT_WEIBO_WINDOW_HOURS": "72", "CAREBOT_WEIBO_MENTION_REPLIES": "2"})
    assert settings.reply_window("wechat") == ReplyWindow(24, 3, 3)
    assert settings.reply_window("weibo") == ReplyWindow(72, None, 2)  # 0 messages: no count limit
    assert settings.reply_window("console") == ReplyWindow(24, 3, 3)  # no window of its own: WeChat's
