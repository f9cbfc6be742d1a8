"""The console channel: a terminal (or a pipe) talking to the bot as a customer would.

Lines become the same platform-free InboundMessage a WeChat webhook produces, so the
terminal gets exactly the treatment a WeChat customer gets.
"""
from __future__ import annotations

import asyncio
import json
import math
import sys
import uuid
from typing import TextIO

from bot.channels.base import Channel
from bot.conversation.messages import InboundMessage
from bot.conversation.pipeline import Conversation

PLATFORM = "console"
ACCOUNT = "console"
# no webhook, no outbound client and no accounts to add: `carebot chat` answers in the terminal
CHANNEL = Channel(PLATFORM, "console", "终端")


def inbound(sender: str, text: str) -> InboundMessage:
    return InboundMessage(platform=PLATFORM, account=ACCOUNT, sender=sender, text=text,
                          dedupe_key=f"console:{uuid.uuid4().hex}")


async def chat(conversation: Conversation, sender: str, *,
               as_json: bool, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    interactive = stdin.isatty()
    if interactive and not as_json:
        print("carebot 已就绪，输入消息与客服机器人对话（Ctrl-D 退出）。", file=stdout)
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            print("你> ", end="", file=stdout, flush=True)
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        text = line.rstrip("\r\n")
        if not text.strip() and interactive:
            continue
        # printed right here: delivered in the channel's own answer, never through an outbox
        outcome = await conversation.handle(inbound(sender, text), passive_until=math.inf)
        if as_json:
            print(json.dumps(outcome.as_json(), ensure_ascii=False), file=stdout, flush=True)
        else:
            for reply in outcome.replies:
                print(f"客服> {reply}", file=stdout, flush=True)
            if not outcome.replies:
                print("（消息已转给人工客服）", file=stdout, flush=True)
