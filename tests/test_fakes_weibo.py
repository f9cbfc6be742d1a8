"""The Weibo fakes keep protocols.md's rules, and carebot's Weibo client and push parsing
read them right (no model, no database: quick)."""
import hashlib

import aiohttp
import pytest

from bot.channels.weibo import inbound as weibo
from bot.channels.outbound import SendError
from bot.channels.weibo.api import WeiboApi
from devkit import weibo_push as wb
from devkit.weibo_api import REPLY_PATH, WINDOW_ERROR, FakeWeiboState, start_fake_weibo_api

TOKEN, UID, FAN = "2.00token", "1902538057", "2489518277"
CREDENTIALS = weibo.Credentials(app_secret="secret", access_token=TOKEN, uid=UID)


@pytest.fixture
async def fake():
    runner, base, state = await start_fake_weibo_api(state=FakeWeiboState(tokens={TOKEN: UID}))
    api = WeiboApi(base)
    try:
        yield base, state, api
    finally:
        await api.close()
        await runner.cleanup()


def test_signature_is_sorted_sha1_over_the_app_secret():
    prepared = wb.prepare_push("http://x", "appsecret", wb.text_push("hi"), timestamp="1409304348", nonce="xxxxxx")
    expected = hashlib.sha1("".join(sorted(["appsecret", "1409304348", "xxxxxx"])).encode()).hexdigest()
    assert prepared.params["signature"] == expected
    weibo.check_signature("appsecret", prepared.params, replay_window=0)  # carebot agrees
    with pytest.raises(weibo.WebhookError):
        weibo.check_signature("another", prepared.params, replay_window=0)


def test_dedupe_key_is_sender_time_type_and_content():
    push = wb.text_push("我要退款", at=1342433360)

    def key_of(message: dict) -> str:
        return weibo.to_inbound("s", message, None)[0].dedupe_key

    key = key_of(push)
    assert key_of({**push, "sender_id": str(push["sender_id"]), "receiver_id": str(push["receiver_id"])}) == key
    assert key_of({**push, "text": "我要退货"}) != key
    assert key_of({**push, "created_at": wb.created_at(1342433361)}) != key
    assert key_of({**push, "type": "mention"}) != key
    assert key_of({**push, "sender_id": 1}) != key


async def test_reply_through_the_fake(fake):
    base, state, api = fake
    state.user_message(FAN)
    await api.send_text(CREDENTIALS, FAN, "您好，百分号%与&符号")
    assert state.messages_to(FAN) == ["您好，百分号%与&符号"]


async def test_the_fake_wants_url_encoded_json_in_a_form(fake):
    base, state, _ = fake
    state.user_message(FAN)
    async with aiohttp.ClientSession() as http:
        plain = await http.post(base + REPLY_PATH, params={"access_token": TOKEN},
                                data={"type": "text", "data": '{"text": "hi"}', "receiver_id": FAN})
        as_json = await http.post(base + REPLY_PATH, params={"access_token": TOKEN},
                                  json={"type": "text", "data": weibo.encode_data({"text": "hi"}), "receiver_id": FAN})
        assert plain.status == 400 and (await plain.json())["error_code"] == "10008"
        assert as_json.status == 400 and (await as_json.json())["error_code"] == "10016"
    assert not state.delivered


@pytest.mark.parametrize("setup, code, retry", [
    (lambda s: s.expire_token(TOKEN), 21327, False),
    (lambda s: s.tokens.clear(), 21332, False),
    (lambda s: s.force_error(10024), 10024, True),
    (lambda s: setattr(s, "fail_share", 1.0), None, True),  # HTTP 500
    (lambda s: s.unfollow(FAN), WINDOW_ERROR, False),
])
async def test_client_reads_the_fakes_errors(fake, setup, code, retry):
    _, state, api = fake
    state.user_message(FAN)
    setup(state)
    with pytest.raises(SendError) as failure:
        await api.send_text(CREDENTIALS, FAN, "hi")
    assert failure.value.retry == retry and failure.value.errcode == code
    if code in (21327, 21332):
        assert "管理员" in failure.value.reason


async def test_windows_48_hours_and_one_reply_after_a_mention(fake):
    _, state, api = fake
    with pytest.raises(SendError):  # never wrote: no window
        await api.send_text(CREDENTIALS, FAN, "hi")
    state.user_mention(FAN)
    await api.send_text(CREDENTIALS, FAN, "one")
    with pytest.raises(SendError) as second:
        await api.send_text(CREDENTIALS, FAN, "two")
    assert second.value.errcode == WINDOW_ERROR
    state.user_message(FAN, kind="click")
    for text in ("a", "b", "c"):  # any number after a click
        await api.send_text(CREDENTIALS, FAN, text)
    state.advance(48 * 3600 + 1)
    with pytest.raises(SendError):
        await api.send_text(CREDENTIALS, FAN, "late")
    assert state.messages_to(FAN) == ["one", "a", "b", "c"]


async def test_rate_limit(fake):
    _, state, api = fake
    state.user_message(FAN)
    state.rate_limit_per_hour = 2
    await api.send_text(CREDENTIALS, FAN, "1")
    await api.send_text(CREDENTIALS, FAN, "2")
    with pytest.raises(SendError) as limited:
        await api.send_text(CREDENTIALS, FAN, "3")
    assert limited.value.errcode == 10023 and limited.value.retry
    state.advance(3601)
    await api.send_text(CREDENTIALS, FAN, "4")


def test_long_replies_split_and_shorten():
    text = "好" * 650
    assert [len(p) for p in weibo.split_reply(text)] == [300, 300, 50]
    (short,) = weibo.shorten_reply(text)
    assert len(short) == 300 and short.endswith("…")
    assert weibo.shorten_reply("短") == ["短"]
