"""Two `carebot serve` processes on one PostgreSQL: one shared token, no row sent twice."""
import asyncio
from pathlib import Path

import aiohttp

from devkit import wechat_push as wx
from devkit import wechat_xml as wxml
from devkit.wechat_api import FakeWeChatState, start_fake_wechat_api
from devkit.postgres import create_pg_database
from tests.conftest import carebot_env, run_carebot
from tests.servers import carebot_servers, free_ports

APPID, SECRET = "wx_scale_0001", "scale-secret"


async def test_two_servers_share_one_token_and_never_send_twice(trained_model: Path, postgres_server: str,
                                                                tmp_path: Path):
    api_runner, api_base, api = await start_fake_wechat_api(state=FakeWeChatState(apps={APPID: SECRET}))
    url = await create_pg_database(postgres_server)
    env = carebot_env(tmp_path / "home", url, CAREBOT_SECRET_KEY="scale-test-secret-key-0123456789abcd",
                      CAREBOT_WECHAT_API_BASE=api_base, CAREBOT_PASSIVE_BUDGET="0",
                      CAREBOT_BUSINESS_HOURS="00:00-23:59", APP_SECRET=SECRET)
    added = run_carebot(["account", "add", "wechat", "--slug", "brand", "--appid", APPID,
                         "--secret-env", "APP_SECRET", "--token", "scaleToken1"], env)
    assert added.returncode == 0, added.stderr
    openids = [f"oSCALEuser{i:018d}" for i in range(30)]
    for openid in openids:
        api.add_user(openid)
        api.user_message(openid)
    ports = free_ports(2)
    try:
        async with carebot_servers(env, ports, tmp_path), aiohttp.ClientSession() as http:
            pushes = [wx.push(f"http://127.0.0.1:{ports[i % 2]}/webhooks/wechat/brand", "scaleToken1",
                              wxml.text_xml("怎么开发票", openid=openid), session=http)
                      for i, openid in enumerate(openids)]
            results = await asyncio.gather(*pushes)
            assert all(r.status == 200 and r.reply is None for r in results)  # acknowledged: outbox
            for _ in range(300):
                if len(api.delivered) >= len(openids):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # anything sent twice would arrive now
    finally:
        await api_runner.cleanup()
    delivered = sorted(d.openid for d in api.delivered)
    assert delivered == sorted(openids)  # every reply exactly once, across both senders
    assert api.fetch_count(APPID) == 1  # one shared token
