"""End to end through the `carebot` command, as a person (or another tool) uses it."""
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.nlu import rasa_yaml
from tests.conftest import CAREBOT, carebot_env, run_carebot


def chat(env: dict, lines: list[str], sender: str = "u1") -> list[dict]:
    result = run_carebot(["chat", "--json", "--sender", sender], env, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def env(trained_model: Path, tmp_path: Path) -> dict:
    return carebot_env(tmp_path / "home", CAREBOT_BUSINESS_HOURS="00:00-23:59")


def test_chat_complaint_ticket_then_status_then_silence(env: dict):
    rows = chat(env, ["你好", "买的耳机收到就是坏的，太垃圾了", "我的投诉处理得怎么样了"])
    assert [r["action"] for r in rows[:2]] == ["smalltalk", "open_ticket"]
    ticket = rows[1]["ticket"]
    assert ticket and ticket.startswith("T") and ticket in rows[1]["replies"][0]
    assert rows[1]["owner"] == "queue"
    # the thread waits for a person now: a status question is still answered (a lookup) ...
    assert rows[2]["action"] == "ticket_status" and rows[2]["owner"] == "queue"
    assert ticket in rows[2]["replies"][0] and "排在第" in rows[2]["replies"][0]
    assert set(rows[0]) == {"text", "intent", "confidence", "action", "replies", "ticket", "owner"}
    # ... anything else gets the one waiting notice, then silence (a new session: still queued)
    again = chat(env, ["在吗", "人呢"])
    assert [r["action"] for r in again] == ["append", "append"] and again[0]["owner"] == "queue"
    assert len(again[0]["replies"]) == 1 and again[1]["replies"] == []


def test_chat_ticket_status_names_the_ticket(env: dict, tmp_path: Path):
    rows = chat(env, ["收到的鞋子开胶了 质量太差"], sender="u2")
    ticket = rows[0]["ticket"]
    # an agent would normally resolve it; another customer account shows none, this one shows it
    other = chat(env, ["我的投诉处理得怎么样了"], sender="u3")
    assert other[0]["action"] == "ticket_status" and other[0]["ticket"] is None
    from sqlalchemy import create_engine, text
    engine = create_engine(f"sqlite:///{tmp_path / 'home' / 'carebot.sqlite3'}")
    with engine.begin() as connection:  # the thread goes back to the bot as after a resolve
        connection.execute(text("UPDATE threads SET owner='bot'"))
    status = chat(env, ["我的投诉处理得怎么样了"], sender="u2")
    assert status[0]["action"] == "ticket_status" and ticket in status[0]["replies"][0]


def test_chat_handoff_and_misunderstandings(env: dict):
    rows = chat(env, ["转人工"], sender="h1")
    assert rows[0]["action"] == "handoff" and rows[0]["owner"] == "queue"
    strict = dict(env, CAREBOT_FAQ_THRESHOLD="1.01", CAREBOT_INTENT_THRESHOLD="1.01")
    rows = chat(strict, ["退款多久能到", "发票怎么开"], sender="h2")
    assert [r["action"] for r in rows] == ["clarify", "handoff"]
    assert rows[1]["owner"] == "queue" and rows[0]["intent"] == "nlu_fallback"


def test_chat_traditional(env: dict):
    rows = chat(env, ["請問運費怎麼算 滿多少包郵"], sender="t1")
    assert rows[0]["intent"] == "faq/shipping_fee" and rows[0]["action"] == "answer_faq"


def test_ask_many_lines_nothing_stored(env: dict, tmp_path: Path):
    lines = ["怎么开发票", "转人工", "东西坏了我要投诉", "今天天气怎么样", "", "😀"] * 50
    source = tmp_path / "in.txt"
    source.write_text("\n".join(lines), encoding="utf-8")
    result = run_carebot(["ask", "--json", "--file", str(source)], env)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(lines)
    assert set(rows[0]) == {"text", "intent", "confidence", "action", "reply"}
    assert [r["action"] for r in rows[:4]] == ["answer_faq", "handoff", "open_ticket", "decline"]
    assert rows[0]["intent"] == "faq/invoice" and rows[4]["action"] == "decline"
    # each line is a fresh conversation: the complaint is never answered with "queued"
    assert all(r["action"] == "open_ticket" for r in rows[2::6])
    status = chat(env, ["我的投诉处理得怎么样了"], sender="ask-check")
    assert status[0]["ticket"] is None  # ask stored no ticket


def test_faq_export_import_round_trip_and_bad_file(env: dict, tmp_path: Path):
    exported = tmp_path / "faq.yml"
    assert run_carebot(["faq", "export", str(exported)], env).returncode == 0
    text = exported.read_text(encoding="utf-8")
    assert "faq/refund_time" in text and "utter_faq/refund_time" in text
    edited = text.replace("- intent: faq/stock", "- intent: faq/gift_wrap", 1).replace(
        "utter_faq/stock:", "utter_faq/gift_wrap:", 1)
    source = tmp_path / "edited.yml"
    source.write_text(edited, encoding="utf-8")
    result = run_carebot(["faq", "import", "--replace", str(source)], env)
    assert result.returncode == 0 and "1 added" in result.stdout and "1 removed" in result.stdout
    again = tmp_path / "again.yml"
    run_carebot(["faq", "export", str(again)], env)
    before = {r.name: r for r in rasa_yaml.read_faq(exported)}
    after_import = {r.name: r for r in rasa_yaml.read_faq(again)}
    assert set(after_import) == set(before) - {"faq/stock"} | {"faq/gift_wrap"}
    assert after_import["faq/gift_wrap"].examples == before["faq/stock"].examples
    assert after_import["faq/refund_time"] == before["faq/refund_time"]

    broken = tmp_path / "broken.yml"
    broken.write_text('version: "3.1"\nnlu:\n- intent: faq/x\n  examples: |\n    - 好\n    坏行\n', encoding="utf-8")
    result = run_carebot(["faq", "import", "--replace", str(broken)], env)
    assert result.returncode == 2 and "broken.yml:6" in result.stderr and "nothing changed" in result.stderr
    after = tmp_path / "after.yml"
    run_carebot(["faq", "export", str(after)], env)
    assert after.read_text(encoding="utf-8") == again.read_text(encoding="utf-8")



def test_faq_import_bad_faqs_change_nothing_and_long_answers_are_shown_split(tmp_path: Path):
    env = carebot_env(tmp_path / "home")  # no model needed: the FAQs are data
    exported, after = tmp_path / "faq.yml", tmp_path / "after.yml"
    assert run_carebot(["faq", "export", str(exported)], env).returncode == 0
    gift = ('version: "3.1"\nnlu:\n- intent: faq/gift_card\n  metadata:\n    question: {question}\n'
            '  examples: |\n{examples}responses:\n  utter_faq/gift_card:\n  - text: "{answer}"\n')
    good = {"question": "礼品卡怎么用？", "examples": "    - 礼品卡怎么用\n", "answer": "礼品卡可在结算页使用。"}
    for name, fields, words in (("none.yml", {"examples": ""}, "intent faq/gift_card has no examples"),
                                ("twin.yml", {"question": "下单后多久发货？"}, "已被 faq/shipping_time 使用"),
                                ("huge.yml", {"answer": "长" * 4001}, "答案最多 4000 个字符")):
        (tmp_path / name).write_text(gift.format(**{**good, **fields}), encoding="utf-8")
        result = run_carebot(["faq", "import", str(tmp_path / name)], env)
        assert result.returncode == 2 and words in result.stderr and "nothing changed" in result.stderr, result.stderr
    run_carebot(["faq", "export", str(after)], env)
    assert after.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")

    long_answer = "礼品卡说明。" * 120  # 720 characters, 2,160 bytes: two WeChat messages, three Weibo ones
    (tmp_path / "long.yml").write_text(gift.format(**{**good, "answer": long_answer}), encoding="utf-8")
    result = run_carebot(["faq", "import", str(tmp_path / "long.yml")], env)
    assert result.returncode == 0 and "1 added" in result.stdout, result.stderr
    assert "the answer of faq/gift_card is over the wechat message limit (2048 字节): it will be sent in 2 " \
           "messages" in result.stderr
    assert "over the weibo message limit (300 字): it will be sent in 3 messages" in result.stderr
    assert f"  3/3 (120 characters): {long_answer[-120:]}" in result.stderr

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _frozen_objects(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith("carebot_gc_frozen_objects "))


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


def test_serve_healthz_and_hot_swap_without_downtime(env: dict):
    """503 while loading, 200 once ready; a model trained meanwhile is swapped in live."""
    port = _free_port()
    env = dict(env, CAREBOT_SECRET_KEY="cli-test-secret-key-0123456789abcdef", APP_SECRET="s3cret-value",
               CAREBOT_PORT=str(port))
    added = run_carebot(["account", "add", "wechat", "--slug", "shop", "--appid", "wx_cli_0001",
                         "--secret-env", "APP_SECRET", "--name", "旗舰店"], env)
    assert added.returncode == 0 and f"127.0.0.1:{port}/webhooks/wechat/shop" in added.stdout, added.stderr
    listed = run_carebot(["account", "list"], env)
    assert "shop" in listed.stdout and "s3cret" not in listed.stdout + added.stdout
    again = run_carebot(["account", "add", "wechat", "--slug", "shop", "--appid", "x", "--secret-env", "APP_SECRET"], env)
    assert again.returncode == 2 and "exists" in again.stderr
    weibo = run_carebot(["account", "add", "weibo", "--slug", "shop-weibo", "--app-secret-env", "APP_SECRET",
                         "--uid", "1902538057"], env, stdin="2.00weiboAccessToken\n")
    assert weibo.returncode == 0 and "/webhooks/weibo/shop-weibo" in weibo.stdout, weibo.stderr
    server = subprocess.Popen([CAREBOT, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen, body = set(), {}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and 200 not in seen:
            status, body = _health(port)
            seen.add(status)
            time.sleep(0.2)
        assert 503 in seen and 200 in seen, seen
        first_model = body["model"]
        for mode in ([], ["--safe"]):
            simulated = run_carebot(["simulate", "wechat", "--slug", "shop", *mode, "怎么开发票"], env)
            assert simulated.returncode == 0 and "发票" in simulated.stdout, simulated.stderr
        for mention in ([], ["--mention"]):
            simulated = run_carebot(["simulate", "weibo", "--slug", "shop-weibo", *mention, "怎么开发票"], env)
            assert simulated.returncode == 0 and "发票" in simulated.stdout, simulated.stderr
        # start-up's objects are out of garbage collection: a full collection no longer walks them all
        assert _frozen_objects(port) > 10_000
        # another process trains and activates a new model (a tiny config: seconds; worse, hence --no-gate)
        tiny = dict(env, CAREBOT_NLU_CONFIG=str(Path(__file__).parent / "data" / "tiny_nlu" / "config.yml"))
        assert run_carebot(["train", "--no-gate"], tiny).returncode == 0
        statuses, model = [], first_model
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and model == first_model:
            status, body = _health(port)
            statuses.append(status)
            model = body.get("model", model)
            time.sleep(0.1)
        assert model != first_model and set(statuses) == {200}  # swapped, never unavailable
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0


def test_account_add_weibo_keeps_secrets_and_refuses_bad_input(env: dict):
    env = dict(env, CAREBOT_SECRET_KEY="cli-test-secret-key-0123456789abcdef", WB_SECRET="wb-app-secret-value",
               WB_TOKEN="2.00wbAccessTokenValue")
    base = ["account", "add", "weibo", "--slug", "brand", "--app-secret-env", "WB_SECRET"]
    bad_uid = run_carebot([*base, "--access-token-env", "WB_TOKEN", "--uid", "12ab"], env)
    missing = run_carebot([*base, "--access-token-env", "NOT_SET_ANYWHERE"], env)
    assert bad_uid.returncode == 2 and "uid" in bad_uid.stderr
    assert missing.returncode == 2 and "NOT_SET_ANYWHERE" in missing.stderr
    assert "brand" not in run_carebot(["account", "list"], env).stdout  # nothing stored
    added = run_carebot([*base, "--access-token-env", "WB_TOKEN", "--uid", "1902538057"], env)
    assert added.returncode == 0 and "/webhooks/weibo/brand" in added.stdout, added.stderr
    listed = run_carebot(["account", "list"], env)
    shown = added.stdout + added.stderr + listed.stdout
    assert "weibo" in listed.stdout and "wb-app-secret" not in shown and "wbAccessToken" not in shown
    again = run_carebot([*base, "--access-token-env", "WB_TOKEN"], env)
    assert again.returncode == 2 and "exists" in again.stderr
    renewed = run_carebot([*base, "--update"], env, stdin="2.00renewedToken\n")
    assert renewed.returncode == 0 and "Updated" in renewed.stdout and "renewedToken" not in renewed.stdout
    nobody = run_carebot(["account", "add", "weibo", "--slug", "nobody", "--app-secret-env", "WB_SECRET",
                          "--access-token-env", "WB_TOKEN", "--update"], env)
    assert nobody.returncode == 2 and "no Weibo account" in nobody.stderr
