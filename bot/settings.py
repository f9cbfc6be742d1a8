"""Settings from `CAREBOT_*` environment variables (and an optional `.env` file).

Everything an operator may want to tune lives here, so that thresholds and keyword lists
can change per deployment without a code change. Secrets are only ever read from the
environment and never given a default.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_URGENT_KEYWORDS = (
    "12315", "315", "曝光", "律师", "起诉", "法院", "媒体", "记者", "消协", "市场监管",
    "工商局", "举报", "报警",
)
# words that make a message a complaint whatever the model thinks (a missed complaint is the
# worst error); kept specific, so that FAQ questions do not trip them
DEFAULT_COMPLAINT_KEYWORDS = (
    "投诉", "差评", "卖假货", "买到假货", "收到假货", "就是假货", "这是假货", "是假货!", "骗子", "骗人",
    "欺诈", "坑人", "坑爹", "垃圾", "质量太差", "态度太差", "态度恶劣", "不礼貌", "骂人", "敷衍",
    "虚假宣传", "货不对板", "耍我", "气死", "离谱", "无语", "失望", "破玩意",
    # wrong, missing or lost goods
    "发错货", "发错了", "错发", "少发", "漏发", "少寄", "丢件", "弄丢", "快递丢", "包裹丢",
    "根本没收到", "一直没收到货", "还没收到货",
    # damaged or defective goods
    "破损", "压坏", "压烂", "压扁", "压变形", "摔坏", "摔烂", "碎成", "有划痕", "瑕疵", "次品", "残次",
    "二手货", "旧货", "掉色", "起球", "缩水", "充不进电", "充不上电", "充不了电",
    # a verdict of dissatisfaction, even in a review that also praises ("物流很快，可就是…不满意")
    "不满意", "后悔买", "不值这个价", "不推荐", "别买", "踩雷", "智商税", "上当",
    # the same in the English that customers mix in (the tone model reads Chinese only)
    "terrible", "broken", "damaged", "worst", "disappointed", "scam", "fake",
    # smell and skin reactions
    "异味", "怪味", "臭味", "刺鼻", "发霉", "起疹", "疹子", "红疹", "发痒", "红肿",
)
DEFAULT_SAFETY_KEYWORDS = (
    "过敏", "受伤", "起火", "着火", "冒烟", "漏电", "触电", "爆炸", "烫伤", "划伤",
    "中毒", "送医", "住院", "流血",
)


def _read_dotenv(path: Path) -> dict[str, str]:
    """A minimal `.env` reader: KEY=VALUE lines, `#` comments, optional quotes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _parse_hours(value: str) -> tuple[time, time]:
    start, _, end = value.partition("-")
    try:
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError as exc:
        raise ValueError(f"CAREBOT_BUSINESS_HOURS must look like 09:00-21:00, got {value!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with `Settings.from_env()`."""

    home: Path
    database_url: str
    models_dir: Path
    nlu_python: Path
    config_path: Path
    nlu_data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    # decision policy. The answer thresholds and the out-of-scope similarity (below it a message
    # is unlike anything taught) come from each model's own cross-validation; these override them.
    faq_threshold: float | None = None
    intent_threshold: float | None = None
    oos_similarity: float | None = None
    # the tone model's complaint probability that makes a message a complaint (a stronger one
    # when the message is also a confident FAQ question), and its praise probability for praise
    # (chosen on the dev sets by bench/nlu_quality.py, not on the sets it reports)
    complaint_tone: float = 0.6
    complaint_tone_strong: float = 0.7
    complaint_tone_floor: float = 0.3  # what the intent model's "complain" needs of the tone
    complaint_tone_question: float = 0.5  # the same for a message that asks something
    # out of scope when its score is at least this share of the best intent's (1.0: only when
    # best); set by the model's cross-validation unless given
    oos_ratio: float | None = None
    praise_tone: float = 0.6
    praise_tone_strong: float = 0.85
    max_misunderstandings: int = 2
    clarify_options: int = 3
    complaint_keywords: tuple[str, ...] = DEFAULT_COMPLAINT_KEYWORDS
    urgent_keywords: tuple[str, ...] = DEFAULT_URGENT_KEYWORDS
    safety_keywords: tuple[str, ...] = DEFAULT_SAFETY_KEYWORDS
    # a message is cut to this many characters before NLU (the stored text stays whole)
    nlu_max_chars: int = 200
    # business hours of human agents (local time in `timezone`), and the working days (1=Mon)
    business_hours: tuple[time, time] = (time(9, 0), time(21, 0))
    business_days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    timezone: str = "Asia/Shanghai"
    first_response_minutes: int = 30
    # channels
    wechat_api_base: str = "https://api.weixin.qq.com"
    platform_timeout: float = 10.0  # seconds for one call to a platform's API (then retried later)
    passive_budget: float = 3.5  # seconds a webhook waits for the bot before acknowledging
    replay_window: int = 600  # seconds; 0 turns the timestamp check off
    human_click_key: str = "HUMAN_AGENT"
    window_hours: int = 48
    window_messages: int = 5
    weibo_api_base: str = "https://m.api.weibo.com"
    # Weibo: replies within this long after a message, follow, click or scan (0: no count limit)
    weibo_window_hours: int = 48
    weibo_window_messages: int = 0
    # after a public @mention only this many replies (protocols.md: 1, unsure today)
    weibo_mention_replies: int = 1
    # a complaint said in public (a mention) spreads: its ticket's priority (urgent | high)
    public_complaint_priority: str = "urgent"
    public_url: str = ""  # how the platforms reach this server, shown by `carebot account add`
    # NLU worker
    nlu_workers: int = 1
    nlu_timeout: float = 5.0
    nlu_start_timeout: float = 180.0
    # SLA breaches: how often each server checks, and where they are POSTed as JSON ("" = nowhere)
    sla_check_interval: float = 15.0
    sla_webhook_url: str = ""
    # ask the customer for a 1-5 rating when an agent resolves (a resolve may still say no)
    csat_on_resolve: bool = True
    # login attempts (/login, /api/v1/auth/token) a minute per client address, per process (0: off)
    login_rate_limit: int = 20
    # seconds a connection may take to send a request's headers (and stay idle between requests)
    header_timeout: float = 20.0
    # a secret: when set, GET /metrics needs `Authorization: Bearer <it>` (from anywhere); when
    # unset, only loopback clients that came through no proxy may read it
    metrics_token: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        """Every field from `CAREBOT_<FIELD NAME>`, parsed by its type (`_PARSERS`); the paths
        first, as the others' defaults depend on them. A new setting is a new field (and a
        line in the README's table)."""
        source = dict(_read_dotenv(Path.cwd() / ".env"))
        source.update(os.environ if env is None else env)

        def get(name: str, default: str | None = None) -> str | None:
            return source.get(f"CAREBOT_{name}", default)

        home = Path(get("HOME", str(Path.cwd() / "var"))).resolve()
        database_url = get("DATABASE_URL") or f"sqlite+aiosqlite:///{home / 'carebot.sqlite3'}"
        kwargs: dict[str, Any] = {
            "home": home,
            "database_url": normalise_database_url(database_url),
            "models_dir": Path(get("MODELS_DIR", str(home / "models"))).resolve(),
            "nlu_python": Path(get("NLU_PYTHON", str(PROJECT_ROOT / ".venv-nlu" / "bin" / "python"))),
            "config_path": Path(get("NLU_CONFIG", str(PROJECT_ROOT / "config.yml"))),
            "nlu_data_dir": Path(get("NLU_DATA", str(PROJECT_ROOT / "nlu_data"))),
        }
        for spec in fields(cls):
            value = get(spec.name.upper())
            if spec.name not in kwargs and value is not None and (value or spec.type not in _BLANK_IS_UNSET):
                kwargs[spec.name] = _PARSERS[spec.type](spec.name, value)
        if kwargs.get("public_complaint_priority", "urgent") not in ("urgent", "high"):
            raise ValueError("CAREBOT_PUBLIC_COMPLAINT_PRIORITY must be urgent or high")
        return cls(**kwargs)

    def reply_window(self, platform: str) -> "ReplyWindow":
        """How long and how often a platform lets us write to a customer after they wrote."""
        if platform == "weibo":
            return ReplyWindow(self.weibo_window_hours, self.weibo_window_messages or None,
                               self.weibo_mention_replies)
        return ReplyWindow(self.window_hours, self.window_messages, self.window_messages)


@dataclass(frozen=True)
class ReplyWindow:
    hours: int
    messages: int | None  # None: no limit on the count
    after_public: int | None  # the count after a public message (a mention)


def normalise_database_url(url: str) -> str:
    """Accept the usual sync URLs and map them onto the async drivers the service uses."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def _as_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"CAREBOT_{name.upper()} must be an integer, got {value!r}") from exc


def _as_float(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"CAREBOT_{name.upper()} must be a number, got {value!r}") from exc


def _as_words(name: str, value: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in value.split(",") if word.strip())


def _as_flag(name: str, value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off")


def _as_days(name: str, value: str) -> tuple[int, ...]:
    return tuple(_as_int(name, day) for day in value.split(","))


# a field's type (as written in `Settings`) -> how its environment variable is read
_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "str": lambda name, value: value, "int": _as_int, "float": _as_float, "float | None": _as_float,
    "bool": _as_flag, "tuple[str, ...]": _as_words, "tuple[int, ...]": _as_days,
    "tuple[time, time]": lambda name, value: _parse_hours(value),
}
# types whose variable, set but empty, means "the default" (e.g. CAREBOT_BUSINESS_HOURS=)
_BLANK_IS_UNSET = {"tuple[int, ...]", "tuple[time, time]"}
