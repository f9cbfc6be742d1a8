"""The production topology of docs/deploy.md, tested: Debian's nginx (TLS, whole bodies, the
body cap) in front of two `carebot serve` on one PostgreSQL, configured from the very template
the docs ship (scripts/render-nginx-conf), with loopback ports and paths under the test's
directory instead of 80/443 and /var/log."""
from __future__ import annotations

import asyncio
import ipaddress
import os
import pwd
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from devkit import wechat_push as wx
from devkit import wechat_xml as wxml
from devkit.wechat_api import FakeWeChatState, start_fake_wechat_api
from bot.runtime import database
from bot.settings import PROJECT_ROOT
from bot.store.models import Message
from bot.channels.intake import MAX_BODY
from devkit.postgres import create_pg_database
from tests.conftest import carebot_env, make_settings, run_carebot
from tests.servers import carebot_servers, free_ports

NGINX = "/usr/sbin/nginx"
RENDER = PROJECT_ROOT / "scripts" / "render-nginx-conf"
APPID, SECRET, TOKEN = "wx_deploy_0001", "deploy-secret", "deployToken1"
QUESTION = "怎么开发票"


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that the test's client trusts (as its only CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _nginx_conf(root: Path, backends: list[int], https_port: int, http_port: int) -> Path:
    """The shipped site file, rendered for loopback, inside a main file with paths under `root`
    (Debian's /etc/nginx/nginx.conf plays that part in production)."""
    for directory in ("logs", "tmp"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    cert, key = _self_signed_certificate(root)
    site = subprocess.run([sys.executable, str(RENDER), "--server-name", "127.0.0.1",
                           *(f"--backend=127.0.0.1:{port}" for port in backends),
                           "--certificate", str(cert), "--certificate-key", str(key),
                           "--https-listen", f"127.0.0.1:{https_port}", "--http-listen", f"127.0.0.1:{http_port}",
                           "--log-dir", str(root / "logs")], check=True, capture_output=True, text=True).stdout
    (root / "carebot.conf").write_text(site)
    temp_paths = "\n".join(f"    {kind}_temp_path {root / 'tmp' / kind};"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = root / "nginx.conf"
    main.write_text(f"""
user {pwd.getpwuid(os.geteuid()).pw_name};
daemon off;
worker_processes 1;
pid {root / 'nginx.pid'};
error_log {root / 'logs' / 'error.log'} warn;
events {{ worker_connections 128; }}
http {{
{temp_paths}
    include {root / 'carebot.conf'};
}}
""")
    return main


@asynccontextmanager
async def _nginx(conf: Path, port: int) -> AsyncIterator[None]:
    root, error_log = conf.parent, conf.parent / "logs" / "error.log"
    command = [NGINX, "-p", str(root), "-c", str(conf), "-e", str(error_log)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            assert process.poll() is None, error_log.read_text()
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            await asyncio.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _send_in_two_segments(prepared: wx.PreparedPush, port: int, tls: ssl.SSLContext) -> wx.PushResult:
    """POST over a raw TLS socket: the headers and half the body, 0.2 s later the rest."""
    target = urlsplit(prepared.url).path + "?" + urlencode(prepared.params)
    head = (f"POST {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(prepared.body)}\r\n\r\n").encode("ascii")
    half = len(prepared.body) // 2
    response = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with tls.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            sock.sendall(head + prepared.body[:half])
            time.sleep(0.2)
            sock.sendall(prepared.body[half:])
            try:
                while chunk := sock.recv(65536):
                    response += chunk
            except ssl.SSLEOFError:  # closed without close_notify: the response is complete
                pass
    status_line, _, rest = response.partition(b"\r\n")
    return wx.read_reply(prepared, int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode("utf-8"))


async def _count(url: str, home: Path, *where) -> int:
    async with database(make_settings(home, url)) as db:
        async with db.sessions() as session:
            return (await session.execute(select(func.count()).select_from(Message).where(*where))).scalar_one()


async def test_nginx_in_front_of_two_servers_answers_and_stores_each_push_once(
        trained_model: Path, postgres_server: str, tmp_path: Path):
    api_runner, api_base, api = await start_fake_wechat_api(state=FakeWeChatState(apps={APPID: SECRET}))
    url = await create_pg_database(postgres_server)
    home = tmp_path / "home"
    env = carebot_env(home, url, CAREBOT_SECRET_KEY="deploy-test-secret-key-0123456789abcd",
                      CAREBOT_WECHAT_API_BASE=api_base, CAREBOT_BUSINESS_HOURS="00:00-23:59", APP_SECRET=SECRET)
    added = run_carebot(["account", "add", "wechat", "--slug", "brand", "--appid", APPID,
                         "--secret-env", "APP_SECRET", "--token", TOKEN], env)
    assert added.returncode == 0, added.stderr
    openids = [f"oDEPLOYuser{i:017d}" for i in range(13)]
    for openid in openids:
        api.add_user(openid)  # a reply that misses the passive budget goes through the API
        api.user_message(openid)
    *backends, https_port, http_port = free_ports(4)
    conf = _nginx_conf(tmp_path / "nginx", backends, https_port, http_port)
    tls = ssl.create_default_context(cafile=str(tmp_path / "nginx" / "tls.crt"))
    webhook = f"https://127.0.0.1:{https_port}/webhooks/wechat/brand"
    pushes = [wx.prepare_push(webhook, TOKEN, wxml.text_xml(QUESTION, openid=openid)) for openid in openids]
    try:
        async with carebot_servers(env, backends, tmp_path), _nginx(conf, https_port), \
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http:
            answers = await asyncio.gather(*(wx.send_prepared(p, session=http, timeout=10) for p in pushes[:-1]))
            answers.append(await asyncio.to_thread(_send_in_two_segments, pushes[-1], https_port, tls))
            retry = await wx.send_prepared(pushes[0], session=http, timeout=10)  # WeChat's retry: same MsgId
            oversize = []
            for size in (MAX_BODY, MAX_BODY + 1):
                async with http.post(webhook, params=pushes[0].params, data=b"x" * size) as response:
                    oversize.append((response.status, await response.text()))
            async with http.get(f"http://127.0.0.1:{http_port}/webhooks/wechat/brand",
                                allow_redirects=False) as plain:
                assert plain.status == 301 and plain.headers["Location"].startswith("https://")
            assert all(answer.ok for answer in answers), [a.error for a in answers]
            passive = {p.openid for p, answer in zip(pushes, answers) if answer.reply is not None}
            for _ in range(200):  # the rest through the outbox
                if len(api.delivered) >= len(openids) - len(passive):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # anything answered twice would arrive now
    finally:
        await api_runner.cleanup()
    for push, answer in zip(pushes, answers):  # each answered exactly once: passively or by the API
        assert (answer.reply is not None) + len(api.messages_to(push.openid)) == 1, push.openid
    content = (answers[0].reply or {}).get("Content")  # None: answered through the API
    assert retry.ok and (retry.reply or {}).get("Content") == content  # the retry: the same answer again
    assert await _count(url, home, Message.direction == "in") == len(openids)
    assert await _count(url, home, Message.direction == "out") == len(openids)
    # the body cap: what the app accepts passes nginx; one byte more is refused by nginx itself
    assert oversize[0][0] != 413 and oversize[1][0] == 413
    assert "nginx" in oversize[1][1]
    served_by = set(re.findall(r"upstream=(127\S+)", (tmp_path / "nginx" / "logs" / "carebot.access.log").read_text()))
    assert served_by == {f"127.0.0.1:{port}" for port in backends}  # both servers took pushes
