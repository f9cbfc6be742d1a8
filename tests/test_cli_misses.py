"""`carebot misses list|label|dismiss`: the contract (JSON fields, exit codes), on both databases."""
from __future__ import annotations

import json
from pathlib import Path

from bot.conversation.messages import InboundMessage
from bot.conversation.pipeline import Conversation
from bot.nlu.training import training_blocks
from tests.conftest import carebot_env, run_carebot

FIELDS = {"id", "text", "action", "intent", "confidence", "count", "created"}


async def test_list_label_dismiss_and_bad_input(conversation: Conversation, database_url: str, tmp_path: Path):
    for sender, text in (("c1", "明天天气怎么样啊"), ("c2", "后天天气怎么样呀"), ("c3", "股票会涨吗")):
        assert (await conversation.handle(InboundMessage("console", "console", sender, text))).action == "decline"
    env = carebot_env(tmp_path, database_url)

    listed = run_carebot(["misses", "list", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["text"], r["count"]) for r in rows] == [("后天天气怎么样呀", 2), ("股票会涨吗", 1)]
    assert FIELDS <= set(rows[0]) and rows[0]["action"] == "decline" and rows[0]["intent"] == "out_of_scope"
    assert len(json.loads(run_carebot(["misses", "list", "--json", "--limit", "1"], env).stdout)) == 1
    weather, stocks = rows[0]["id"], rows[1]["id"]

    for args, message in ((["label", "999999", "out_of_scope"], "没有编号为 999999"),
                          (["label", str(stocks), "faq/no_such_faq"], "未知的意图"),
                          (["label", str(stocks), "nlu_fallback"], "未知的意图"),
                          (["list", "--limit", "0"], "must be 1 or more")):
        refused = run_carebot(["misses", *args], env)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)

    labelled = run_carebot(["misses", "label", str(weather), "faq/shipping_time"], env)
    assert labelled.returncode == 0, labelled.stderr
    blocks = {block.name: block.examples for block in await training_blocks(conversation.db, conversation.settings)}
    assert "后天天气怎么样呀" in blocks["faq__shipping_time"]
    assert run_carebot(["misses", "dismiss", str(stocks)], env).returncode == 0
    again = run_carebot(["misses", "dismiss", str(stocks)], env)
    assert again.returncode == 2 and "已忽略" in again.stderr
    rows = json.loads(run_carebot(["misses", "list", "--json"], env).stdout)
    assert [r["text"] for r in rows] == ["明天天气怎么样啊"]
