"""GET /metrics: Prometheus text from the real app after real traffic; loopback only (never
through a proxy), or a bearer token when CAREBOT_METRICS_TOKEN is set."""
from __future__ import annotations

from dataclasses import replace

import aiohttp
from aiohttp.test_utils import make_mocked_request
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.store.models import NluModel
from bot.web import metrics_web
from tests.agent_stack import AgentStack

OPENID = "oMetricsCustomer0000000001"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def scrape(stack: AgentStack, **headers: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.base}/metrics", headers=headers) as response:
            return response.status, await response.text()


async def test_metrics_after_traffic(stack: AgentStack):
    status, before = await scrape(stack)
    assert status == 200
    answered = await stack.push("怎么开发票", OPENID)
    handed = await stack.push("我要转人工", "oMetricsCustomer0000000002")
    assert answered.reply and handed.reply
    status, text = await scrape(stack)
    assert status == 200
    was, now = samples(before), samples(text)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return now.get(key, 0) - was.get(key, 0)

    assert grew("carebot_webhook_request_duration_seconds_count", platform="wechat") == 2
    assert grew("carebot_nlu_parse_duration_seconds_count") >= 1
    assert grew("carebot_messages_total", action="answer_faq") == 1
    assert grew("carebot_messages_total", action="handoff") == 1
    assert now[("carebot_inbox_waiting", ())] == 1
    assert now[("carebot_outbox_backlog", ())] >= 0 and ("carebot_outbox_failed", ()) in now
    assert ("carebot_sla_breaches", (("kind", "first_response"),)) in now
    async with stack.rt.db.sessions() as session:
        active = (await session.execute(select(NluModel.id).where(NluModel.active.is_(True)))).scalar_one()
    assert now[("carebot_active_model_id", ())] == active


async def test_metrics_access(stack: AgentStack):
    status, text = await scrape(stack, **{"X-Forwarded-For": "127.0.0.1"})  # came through a proxy
    assert status == 403 and "loopback" in text
    assert (await scrape(stack, **{"X-Real-IP": "10.0.0.1"}))[0] == 403
    stack.rt.settings = replace(stack.rt.settings, metrics_token="scrape-token-0123456789")
    assert (await scrape(stack))[0] == 401  # even from loopback, once a token is set
    assert (await scrape(stack, Authorization="Bearer wrong-token"))[0] == 401
    status, text = await scrape(stack, Authorization="Bearer scrape-token-0123456789",
                                **{"X-Forwarded-For": "203.0.113.9"})
    assert status == 200 and "carebot_webhook_request_duration_seconds" in text


def test_a_remote_peer_is_refused():
    """A client on another machine (no such socket in a test: a request with its peer address)."""
    def peer(address: str, **headers: str) -> bool:
        transport = type("Transport", (), {"get_extra_info": lambda self, name, default=None:
                                           (address, 40000) if name == "peername" else default})()
        return metrics_web._from_loopback(make_mocked_request("GET", "/metrics", headers=headers,
                                                              transport=transport))

    assert peer("127.0.0.1") and peer("::1")
    assert not peer("203.0.113.5") and not peer("10.1.2.3") and not peer("::ffff:203.0.113.5")
    assert not peer("127.0.0.1", **{"Forwarded": "for=203.0.113.5"})
