"""CSAT end to end: the simulated WeChat pushes to the real app, an agent resolves over the API,
the rating request reaches the fake WeChat API, the customer's "5分" is stored and thanked."""
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select

from actions import texts
from bot.nlu.pool import NluPool
from bot.store.models import Agent, CsatRating, Message
from tests.agent_stack import AgentStack, staffed_stack, wait_until

OPENID = "oCsatCustomer0000000000001"


@pytest_asyncio.fixture
async def stack(nlu_pool: NluPool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    async with staffed_stack(nlu_pool, database_url, tmp_path, monkeypatch, {"alice": ("brand",)}) as running:
        yield running


async def post(http: aiohttp.ClientSession, url: str, headers: dict, body: dict | None = None) -> tuple[int, dict]:
    async with http.post(url, headers=headers, json=body) as response:
        return response.status, await response.json()


async def test_rating_through_wechat_after_resolve(stack: AgentStack):
    alice = await stack.token("alice")
    api = f"{stack.base}/api/v1"
    async with aiohttp.ClientSession() as http:
        await stack.push("转人工", OPENID)
        async with http.get(f"{api}/inbox", headers=alice) as response:
            item = (await response.json())["items"][0]
        thread = item["thread_id"]
        assert (await post(http, f"{api}/inbox/{item['id']}/claim", alice))[0] == 200
        assert (await post(http, f"{api}/threads/{thread}/reply", alice, {"text": "已为您处理好了"}))[0] == 202
        assert (await post(http, f"{api}/threads/{thread}/resolve", alice))[0] == 200

    async def asked() -> bool:
        return any(d.openid == OPENID and d.content == texts.CSAT_ASK for d in stack.api.delivered)

    assert await wait_until(asked)
    result = await stack.push("5分", OPENID)
    assert result.reply and result.reply["Content"] == texts.CSAT_THANKS
    async with stack.rt.db.sessions() as session:
        rating = (await session.execute(select(CsatRating))).scalar_one()
        alice_id = (await session.execute(select(Agent.id).where(Agent.username == "alice"))).scalar_one()
        inbound = (await session.execute(select(Message).where(Message.text == "5分"))).scalar_one()
    assert (rating.rating, rating.thread_id, rating.agent_id) == (5, thread, alice_id)
    assert inbound.intent is None  # never went to the NLU

    result = await stack.push("运费多少 满多少包邮", OPENID)  # the bot answers again, as before
    assert result.reply and ("运费" in result.reply["Content"] or "包邮" in result.reply["Content"])
