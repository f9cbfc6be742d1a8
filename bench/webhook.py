"""Webhook benchmark: `carebot serve` under WeChat pushes, and Rasa's own server on the same model.

Measures, in one run (compare ratios, not absolute numbers, on a shared machine):
- closed loop: 50 concurrent senders (one openid each) push FAQ text messages to
  `/webhooks/wechat/bench`, in plaintext and in safe (AES) mode, and Weibo JSON pushes to
  `/webhooks/weibo/bench-weibo`: p50/p99 latency, messages/s, errors and pushes acknowledged
  (`success` / an empty body) instead of answered passively;
- Rasa 3.6's `rasa run --enable-api` on the same NLU model under the same load, on
  `POST /model/parse` and on the REST channel `POST /webhooks/rest/webhook`;
- open loop against carebot (plaintext): pushes fired at a fixed offered rate regardless of
  answers; p99 latency and the rate actually answered at each offered rate.

Everything runs on 127.0.0.1 (the WeChat and Weibo APIs are loopback fakes, started in this process);
every loop is bounded in count and time; every process started here is stopped on the way out.

    .venv/bin/python bench/webhook.py [--model-dir DIR] [--only carebot|rasa] [--modes plain,safe,weibo]
                                      [--rates 10,50,100,200] [--messages N]

The options narrow a run while tuning (e.g. `--only carebot --modes plain --rates ""`);
`make bench` runs everything.

`--model-dir` (or `webhook_figures(model_dir=...)`): a directory holding an already trained
`nlu-*.tar.gz`; it is copied into the fresh models directory so `carebot train` only registers
it (models are named by the hash of their inputs). Without it, the model is trained here.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devkit import wechat_push as wx  # noqa: E402
from devkit import wechat_xml as wxml  # noqa: E402
from devkit import weibo_push as wb  # noqa: E402
from devkit.wechat_api import FakeWeChatState, start_fake_wechat_api  # noqa: E402
from devkit.weibo_api import FakeWeiboState, start_fake_weibo_api  # noqa: E402

CAREBOT = str(ROOT / ".venv" / "bin" / "carebot")
RASA = str(ROOT / ".venv-nlu" / "bin" / "rasa")
CONCURRENCY = 50
MESSAGES = 5000               # per closed-loop run: ~10 s of carebot, past the start of each run
PHASE_LIMIT_S = 90.0          # a closed-loop run stops taking new messages after this
RASA_PHASE_LIMIT_S = 30.0     # Rasa's server is measured on what it answers in this time
WECHAT_TIMEOUT_S = 5.0        # WeChat drops a push after 5 s: a timeout is an error
RASA_TIMEOUT_S = 10.0
OPEN_RATES = (10, 50, 100, 200)
OPEN_SECONDS = 10.0
SETTLE_LIMIT_S = 45.0         # waiting for the server to work off a backlog, at most
START_LIMIT_S = 240.0

SLUG, APPID, TOKEN = "bench", "wx_bench", "benchToken1"
WEIBO_SLUG, WEIBO_UID = "bench-weibo", 1902538057
WEIBO_SECRET, WEIBO_TOKEN = "bench-weibo-app-secret", "2.00benchWeiboToken"
APP_SECRET = "bench-app-secret"
SECRET_KEY = "bench-secret-key-0123456789abcdefghijklmnop"
ACCOUNT = "gh_benchaccount01"

# Realistic customer questions, none copied from the training data; each one is answered
# with `answer_faq` by the default model (checked with `carebot ask`).
FAQ_TEXTS = [
    "退款多久能到账啊",
    "我昨天下的单什么时候发货",
    "快递到哪了，怎么查物流",
    "运费怎么算，满多少包邮",
    "新疆能发货吗",
    "收货地址填错了，能帮我改一下吗",
    "订单不想要了怎么取消",
    "可以七天无理由退货吗",
    "衣服尺码小了能换大一号吗",
    "怎么开发票，能开公司抬头吗",
    "可以用花呗分期付款吗",
    "优惠券为什么用不了",
    "会员积分怎么兑换礼品",
    "刚买完就降价了，能补差价吗",
    "保修期多久，坏了去哪修",
    "你们家卖的是正品吗",
    "实体店在哪里，几点开门",
    "我身高170体重65该穿什么码",
    "账号登不上去怎么办",
    "这个没货了，什么时候补货",
]

_MSG_IDS = itertools.count(7_000_000_000_000_000_000)
_WEIBO_TIMES = itertools.count(1_700_000_000)  # a distinct created_at (seconds) per Weibo push


@dataclass(frozen=True)
class Scope:
    """What one run measures (everything by default)."""

    carebot: bool = True
    rasa: bool = True
    modes: tuple[str, ...] = ("plain", "safe", "weibo")  # WeChat plaintext, WeChat safe mode, Weibo
    rates: tuple[int, ...] = OPEN_RATES
    messages: int = MESSAGES
    # as `carebot serve` runs by default. On two cores a second worker was slower, not faster: the
    # service takes 0.7 of a core under this load, and three busy processes on two cores stall its
    # event loop (stop 36, four runs of each, alternating: one worker 459-533 msgs/s plaintext, p99
    # 153-171 ms, open loop at 200/s p99 132-152 ms; two workers 402-422 msgs/s, p99 196-241 ms,
    # open loop p99 383-657 ms)
    nlu_workers: int = 1


async def timed_post(tally, timeout_s: float, request) -> tuple[int, bytes] | None:
    """Send one request and record its latency (a timeout counts as the full limit)."""
    started = time.perf_counter()
    try:
        async with request as response:
            body = await response.read()
            status = response.status
    except asyncio.TimeoutError:
        tally.latencies.append(timeout_s * 1000)
        tally.error(f"no answer within {timeout_s} s", timeout=True)
        return None
    except aiohttp.ClientError as exc:
        tally.error(f"{type(exc).__name__}: {exc}")
        return None
    tally.latencies.append((time.perf_counter() - started) * 1000)
    return status, body

def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alnum_aes_key() -> str:
    """A valid EncodingAESKey that `carebot account add` accepts (letters and digits only)."""
    while True:
        key = wx.new_aes_key()
        if key.isalnum():
            return key


def openid(phase: str, n: int) -> str:
    return f"oBENCH{phase}{n:0{22 - len(phase)}d}"


def weibo_uid(phase: str, n: int) -> int:
    """A Weibo uid per phase and sender (one thread each, like the WeChat openids)."""
    return 5_000_000_000 + (sum(map(ord, phase)) % 10_000) * 1_000 + n


# --- processes ---

class Started:
    """A process started here, with its log; `stop()` ends it and any child it left behind."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path, cwd: Path) -> None:
        self.name, self.log = name, log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for child in children:  # e.g. an NLU worker (own session) if the server died uncleanly
            try:
                child.wait(timeout=10)
            except psutil.TimeoutExpired:
                child.kill()
            except psutil.Error:
                pass


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of a process and of its live children."""
    try:
        process = psutil.Process(pid)
        own = sum(process.cpu_times()[:2])
        children = 0.0
        for child in process.children(recursive=True):
            try:
                children += sum(child.cpu_times()[:2])
            except psutil.Error:
                pass
        return own, children
    except psutil.Error:
        return 0.0, 0.0


async def wait_http(http: aiohttp.ClientSession, url: str, proc: Started, limit: float = START_LIMIT_S) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.process.returncode}:\n{proc.tail()}")
        try:
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
        await asyncio.sleep(0.3)
    raise RuntimeError(f"{proc.name} not ready within {limit:.0f} s:\n{proc.tail()}")


def prepare_carebot(env: dict[str, str], aes_key: str, model_dir: Path | None) -> Path:
    """Account and model in the fresh home; returns the model file `carebot train` activated."""
    models = Path(env["CAREBOT_MODELS_DIR"])
    models.mkdir(parents=True, exist_ok=True)
    if model_dir is not None:
        for model in Path(model_dir).glob("nlu-*.tar.gz"):
            if ".partial." not in model.name:
                shutil.copy2(model, models / model.name)
    added = subprocess.run([CAREBOT, "account", "add", "wechat", "--slug", SLUG, "--appid", APPID,
                            "--secret-env", "BENCH_APP_SECRET", "--token", TOKEN, "--aes-key", aes_key],
                           env=env, capture_output=True, text=True, timeout=120)
    if added.returncode != 0:
        raise RuntimeError(f"carebot account add failed:\n{added.stderr[-2000:]}")
    added = subprocess.run([CAREBOT, "account", "add", "weibo", "--slug", WEIBO_SLUG, "--uid", str(WEIBO_UID),
                            "--app-secret-env", "BENCH_WEIBO_SECRET", "--access-token-env", "BENCH_WEIBO_TOKEN"],
                           env=env, capture_output=True, text=True, timeout=120)
    if added.returncode != 0:
        raise RuntimeError(f"carebot account add weibo failed:\n{added.stderr[-2000:]}")
    trained = subprocess.run([CAREBOT, "train"], env=env, capture_output=True, text=True, timeout=1800)
    if trained.returncode != 0:
        raise RuntimeError(f"carebot train failed:\n{trained.stderr[-3000:]}")
    # "Active model: VERSION (PATH)"
    return Path(trained.stdout.rsplit("(", 1)[1].split(")", 1)[0])


# --- load ---

class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.timeouts = 0
        self.not_passive = 0
        self.empty = 0
        self.ok = 0
        self.first_error = ""

    def error(self, what: str, *, timeout: bool = False) -> None:
        self.errors += 1
        self.timeouts += timeout
        self.first_error = self.first_error or what

    def summary(self, prefix: str, elapsed: float, sent: int) -> dict:
        return {f"{prefix}_messages": sent, f"{prefix}_msgs_per_s": self.ok / elapsed if elapsed else 0.0,
                f"{prefix}_p50_ms": statistics.median(self.latencies) if self.latencies else float("nan"),
                f"{prefix}_p99_ms": percentile(self.latencies, 0.99), f"{prefix}_errors": self.errors}


Call = Callable[[int, int], Awaitable[None]]  # (sender, sequence number) -> None, records into a Tally


def push_call(http: aiohttp.ClientSession, url: str, mode: str, aes_key: str, phase: str,
              tally: Tally, judged: list) -> Call:
    """One push of an FAQ text (WeChat in `mode` plain or safe, or Weibo), signed (and
    encrypted) beforehand; the reply is judged (and decrypted) after the run, so the load
    generator spends as little CPU as possible."""

    async def call(sender: int, n: int) -> None:
        text = FAQ_TEXTS[n % len(FAQ_TEXTS)]
        if mode == "weibo":  # created_at differs per push: Weibo's dedupe key has no message id
            prepared = wb.prepare_push(url.replace(f"/wechat/{SLUG}", f"/weibo/{WEIBO_SLUG}"), WEIBO_SECRET,
                                       wb.text_push(text, sender_id=weibo_uid(phase, sender), receiver_id=WEIBO_UID,
                                                    at=next(_WEIBO_TIMES)))
        else:
            xml = wxml.text_xml(text, openid=openid(phase, sender), account=ACCOUNT, msg_id=next(_MSG_IDS))
            prepared = wx.prepare_push(url, TOKEN, xml, mode=mode, aes_key=aes_key, appid=APPID)
        answer = await timed_post(tally, WECHAT_TIMEOUT_S, http.post(
            prepared.url, params=prepared.params, data=prepared.body, headers=prepared.headers,
            timeout=aiohttp.ClientTimeout(total=WECHAT_TIMEOUT_S)))
        if answer is not None:
            judged.append((prepared, answer[0], answer[1].decode("utf-8", "replace")))

    return call


def judge_pushes(tally: Tally, judged: list) -> None:
    for prepared, status, body in judged:
        weibo = isinstance(prepared, wb.PreparedPush)
        result = (wb if weibo else wx).read_reply(prepared, status, body)
        if not result.ok:
            tally.error(result.error or f"HTTP {status}")
        else:
            tally.ok += 1  # answered in time (passively, or acknowledged for the outbox)
            if result.reply is None or not result.reply.get("text" if weibo else "Content"):
                tally.not_passive += 1  # acknowledged with `success`: the answer went to the outbox
    judged.clear()


async def closed_loop(call: Call, total: int = MESSAGES, concurrency: int = CONCURRENCY,
                      limit: float = PHASE_LIMIT_S) -> tuple[float, int]:
    """`concurrency` senders, each sending its next message as soon as the last was answered;
    returns (elapsed s, messages sent)."""
    numbers = iter(range(total))
    sent = 0
    started = time.perf_counter()

    async def sender(index: int) -> None:
        nonlocal sent
        for n in numbers:
            if time.perf_counter() - started > limit:
                return
            sent += 1
            await call(index, n)

    await asyncio.gather(*(sender(i) for i in range(concurrency)))
    return time.perf_counter() - started, sent


async def settle(http: aiohttp.ClientSession, url: str, aes_key: str) -> float:
    """Probe pushes, one at a time, until one is answered passively within 1 s: the server has
    worked off any backlog. Returns the seconds it took (at most SETTLE_LIMIT_S)."""
    started = time.perf_counter()
    probe = itertools.count()
    while time.perf_counter() - started < SETTLE_LIMIT_S:
        tally, judged = Tally(), []
        await push_call(http, url, "plain", aes_key, "settle", tally, judged)(0, next(probe))
        judge_pushes(tally, judged)
        if tally.ok and not tally.not_passive and tally.latencies[-1] < 1000:
            break
        await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def open_loop(http: aiohttp.ClientSession, url: str, aes_key: str, rate: float) -> dict:
    """Fire pushes every 1/rate s for OPEN_SECONDS, whatever the answers; each push is bounded
    by WeChat's 5 s. Openids rotate over 100 customers."""
    tally, judged = Tally(), []
    call = push_call(http, url, "plain", aes_key, f"open{rate}", tally, judged)
    count = int(rate * OPEN_SECONDS)
    tasks = []
    started = time.perf_counter()
    for n in range(count):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(call(n % 100, n)))
    fired = time.perf_counter() - started
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    judge_pushes(tally, judged)
    name = f"open_{rate}"
    return {f"{name}_offered_per_s": rate, f"{name}_sent_per_s": count / fired if fired else float(count),
            f"{name}_achieved_per_s": tally.ok / elapsed, f"{name}_p50_ms": statistics.median(tally.latencies),
            f"{name}_p99_ms": percentile(tally.latencies, 0.99), f"{name}_errors": tally.errors,
            f"{name}_timeouts": tally.timeouts, f"{name}_not_passive": tally.not_passive}


def rasa_call(http: aiohttp.ClientSession, base: str, endpoint: str, tally: Tally) -> Call:
    async def call(sender: int, n: int) -> None:
        text = FAQ_TEXTS[n % len(FAQ_TEXTS)]
        if endpoint == "parse":
            url, payload = f"{base}/model/parse", {"text": text}
        else:
            url, payload = f"{base}/webhooks/rest/webhook", {"sender": f"bench-{sender}", "message": text}
        answer = await timed_post(tally, RASA_TIMEOUT_S, http.post(
            url, json=payload, timeout=aiohttp.ClientTimeout(total=RASA_TIMEOUT_S)))
        if answer is None:
            return
        status, raw = answer
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if status != 200:
            tally.error(f"HTTP {status}: {raw[:200]!r}")
        elif endpoint == "parse" and not (isinstance(data, dict) and isinstance(data.get("intent"), dict)):
            tally.error(f"no intent in {raw[:200]!r}")
        elif endpoint == "rest" and not isinstance(data, list):
            tally.error(f"not a list of bot messages: {raw[:200]!r}")
        else:
            tally.ok += 1
            tally.empty += endpoint == "rest" and not data

    return call


# --- the benchmark ---

async def carebot_phase(work: Path, env: dict[str, str], aes_key: str, http: aiohttp.ClientSession,
                        figures: dict, scope: Scope) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/wechat/{SLUG}"
    server = Started("carebot serve", [CAREBOT, "serve", "--host", "127.0.0.1", "--port", str(port)],
                     env, work / "serve.log", work)
    try:
        figures["webhook_serve_ready_s"] = await wait_http(http, f"http://127.0.0.1:{port}/healthz", server)
        # warm-up (not measured): every text once, then one concurrent round
        warm, judged = Tally(), []
        for n in range(len(FAQ_TEXTS)):
            await push_call(http, url, "plain", aes_key, "warm", warm, judged)(0, n)
        await closed_loop(push_call(http, url, "plain", aes_key, "warm", warm, judged), total=CONCURRENCY)
        judge_pushes(warm, judged)
        if warm.errors:
            print(f"warning: {warm.errors} errors while warming up: {warm.first_error}", flush=True)

        for mode in scope.modes:
            name = f"webhook_{mode}"
            tally, judged = Tally(), []
            before, bench_before = cpu_seconds(server.process.pid), time.process_time()
            elapsed, sent = await closed_loop(push_call(http, url, mode, aes_key, mode, tally, judged),
                                              total=scope.messages)
            after, bench_after = cpu_seconds(server.process.pid), time.process_time()
            judge_pushes(tally, judged)
            figures.update(tally.summary(name, elapsed, sent))
            # where the 2 cores went during the run (CPU seconds per wall second)
            figures[f"{name}_serve_cpu"] = (after[0] - before[0]) / elapsed
            figures[f"{name}_nlu_worker_cpu"] = (after[1] - before[1]) / elapsed
            figures[f"{name}_load_generator_cpu"] = (bench_after - bench_before) / elapsed
            figures[f"{name}_not_passive"] = tally.not_passive
            figures[f"{name}_timeouts"] = tally.timeouts
            if tally.first_error:
                print(f"{name}: first error: {tally.first_error}", flush=True)
            print(f"{name}: {figures[f'{name}_msgs_per_s']:.1f} msgs/s, p50 {figures[f'{name}_p50_ms']:.0f} ms, "
                  f"p99 {figures[f'{name}_p99_ms']:.0f} ms, {tally.errors} errors, "
                  f"{tally.not_passive} not passive ({sent} sent in {elapsed:.1f} s)", flush=True)
            await settle(http, url, aes_key)

        for rate in scope.rates:
            result = await open_loop(http, url, aes_key, rate)
            figures.update(result)
            figures[f"open_{rate}_settle_s"] = await settle(http, url, aes_key)
            print(f"open loop {rate}/s: achieved {result[f'open_{rate}_achieved_per_s']:.1f}/s, "
                  f"p99 {result[f'open_{rate}_p99_ms']:.0f} ms, {result[f'open_{rate}_errors']} errors "
                  f"({result[f'open_{rate}_timeouts']} timeouts), {result[f'open_{rate}_not_passive']} not "
                  f"passive; backlog worked off in {figures[f'open_{rate}_settle_s']:.1f} s", flush=True)
        if not server.alive():
            raise RuntimeError(f"carebot serve died during the run:\n{server.tail()}")
        figures["webhook_serve_rss_mb"] = psutil.Process(server.process.pid).memory_info().rss / 2**20
    finally:
        server.stop()


async def rasa_phase(work: Path, model: Path, http: aiohttp.ClientSession, figures: dict, scope: Scope) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    credentials = work / "credentials.yml"
    credentials.write_text("rest:\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore", TF_CPP_MIN_LOG_LEVEL="3",
               RASA_TELEMETRY_ENABLED="false")
    rasa_dir = work / "rasa"
    rasa_dir.mkdir()
    server = Started("rasa run", [RASA, "run", "--enable-api", "-m", str(model), "--port", str(port),
                                  "-i", "127.0.0.1", "--credentials", str(credentials)],
                     env, work / "rasa.log", rasa_dir)
    try:
        figures["rasa_ready_s"] = await wait_http(http, f"{base}/status", server)
        # is the model really loaded (GET /status answers before)?
        deadline = time.monotonic() + START_LIMIT_S
        while True:
            warm = Tally()
            await rasa_call(http, base, "parse", warm)(0, 0)
            if warm.ok or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        for endpoint in ("parse", "rest"):
            warm = Tally()
            await closed_loop(rasa_call(http, base, endpoint, warm), total=CONCURRENCY)
            tally = Tally()
            before = cpu_seconds(server.process.pid)
            elapsed, sent = await closed_loop(rasa_call(http, base, endpoint, tally), total=scope.messages,
                                              limit=RASA_PHASE_LIMIT_S)
            after = cpu_seconds(server.process.pid)
            name = f"rasa_{endpoint}"
            figures.update(tally.summary(name, elapsed, sent))
            figures[f"{name}_server_cpu"] = (sum(after) - sum(before)) / elapsed
            figures[f"{name}_timeouts"] = tally.timeouts
            if endpoint == "rest":
                figures["rasa_rest_empty_answers"] = tally.empty
            if tally.first_error:
                print(f"{name}: first error: {tally.first_error}", flush=True)
            print(f"{name}: {figures[f'{name}_msgs_per_s']:.1f} msgs/s, p50 {figures[f'{name}_p50_ms']:.0f} ms, "
                  f"p99 {figures[f'{name}_p99_ms']:.0f} ms, {tally.errors} errors ({sent} sent in {elapsed:.1f} s)"
                  + (f", {tally.empty} empty answers" if endpoint == "rest" else ""), flush=True)
            if endpoint == "rest" and tally.errors == sent:
                print("the REST channel did not answer without a Core model: only /model/parse compares",
                      flush=True)
                figures["rasa_rest_msgs_per_s"] = float("nan")
    finally:
        server.stop()


async def _run(work: Path, model_dir: Path | None, scope: Scope) -> dict:
    figures: dict[str, float] = {"webhook_load_average_at_start": os.getloadavg()[0]}
    api_runner, api_base, api = await start_fake_wechat_api(state=FakeWeChatState(apps={APPID: APP_SECRET}))
    # every customer may get answers through the API too (a late reply goes through the outbox)
    phases = ["warm", "settle", "plain", "safe", *(f"open{r}" for r in OPEN_RATES)]
    for phase in phases:
        for n in range(max(CONCURRENCY, 100)):
            api.add_user(openid(phase, n))
            api.user_message(openid(phase, n))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    # the fake Weibo API lets every fan be written to (late replies go through it)
    weibo_runner, weibo_base, weibo_api = await start_fake_weibo_api(
        state=FakeWeiboState(tokens={WEIBO_TOKEN: str(WEIBO_UID)}, strict_windows=False))
    env.update(CAREBOT_HOME=str(work / "home"), CAREBOT_MODELS_DIR=str(work / "models"),
               CAREBOT_SECRET_KEY=SECRET_KEY, CAREBOT_WECHAT_API_BASE=api_base,
               CAREBOT_WEIBO_API_BASE=weibo_base, CAREBOT_BUSINESS_HOURS="00:00-23:59",
               CAREBOT_NLU_WORKERS=str(scope.nlu_workers),
               BENCH_APP_SECRET=APP_SECRET, BENCH_WEIBO_SECRET=WEIBO_SECRET, BENCH_WEIBO_TOKEN=WEIBO_TOKEN)
    aes_key = alnum_aes_key()
    try:
        started = time.monotonic()
        model = await asyncio.to_thread(prepare_carebot, env, aes_key, model_dir)
        figures["webhook_setup_s"] = time.monotonic() - started
        connector = aiohttp.TCPConnector(limit=2000)
        async with aiohttp.ClientSession(connector=connector) as http:
            if scope.carebot:
                await carebot_phase(work, env, aes_key, http, figures, scope)
            if scope.rasa:
                await rasa_phase(work, model, http, figures, scope)
    finally:
        await api_runner.cleanup()
        await weibo_runner.cleanup()
    for name in scope.modes:
        ours = figures.get(f"webhook_{name}_msgs_per_s", float("nan"))
        rasa = figures.get("rasa_parse_msgs_per_s") or float("nan")
        figures[f"ratio_{name}_to_rasa_parse"] = ours / rasa
        rest = figures.get("rasa_rest_msgs_per_s") or float("nan")
        figures[f"ratio_{name}_to_rasa_rest"] = ours / rest
    figures["webhook_outbox_deliveries"] = len(api.delivered)
    figures["webhook_weibo_outbox_deliveries"] = len(weibo_api.delivered)
    return figures


def webhook_figures(model_dir: Path | str | None = None, scope: Scope = Scope()) -> dict:
    """Run the webhook benchmark (all of it by default); print and return its figures."""
    work = Path(tempfile.mkdtemp(prefix="carebot-webhook-"))
    started = time.monotonic()
    try:
        figures = asyncio.run(_run(work, Path(model_dir) if model_dir else None, scope))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures["webhook_bench_s"] = time.monotonic() - started
    ratios = ", ".join(f"{mode}: {figures[f'ratio_{mode}_to_rasa_rest']:.2f} (REST channel), "
                       f"{figures[f'ratio_{mode}_to_rasa_parse']:.2f} (/model/parse)" for mode in scope.modes)
    print(f"carebot : Rasa msgs/s = {ratios}")
    for name, value in figures.items():
        print(f"{name:36} {value:.3f}" if isinstance(value, float) else f"{name:36} {value}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", help="directory with an already trained nlu-*.tar.gz (copied, not moved)")
    parser.add_argument("--only", choices=("carebot", "rasa"), help="measure one server only")
    parser.add_argument("--modes", default="plain,safe,weibo",
                        help="closed-loop modes (WeChat plain, safe; weibo), comma-separated")
    parser.add_argument("--rates", default=",".join(map(str, OPEN_RATES)),
                        help="open-loop rates (messages/s), comma-separated; empty for none")
    parser.add_argument("--messages", type=int, default=MESSAGES, help="pushes per closed-loop run")
    parser.add_argument("--nlu-workers", type=int, default=Scope.nlu_workers, help="NLU workers of carebot serve")
    args = parser.parse_args()
    scope = Scope(carebot=args.only != "rasa", rasa=args.only != "carebot",
                  modes=tuple(m for m in args.modes.split(",") if m),
                  rates=tuple(int(r) for r in args.rates.split(",") if r), messages=args.messages,
                  nlu_workers=args.nlu_workers)
    webhook_figures(args.model_dir, scope)


if __name__ == "__main__":
    main()
