"""Text normalisation applied to every message (and every training example) before NLU.

Customers write Traditional and Simplified, full-width letters, Weibo @names and #topics#,
links, runs of punctuation and emoji. The model only ever sees one canonical form, so one
set of training examples covers all of them. The original text is stored unchanged; this
is only what the model reads.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_URL = re.compile(r"(?:https?://|www\.)\S+|\bt\.cn/\S+", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(?:回复|回覆|//)\s*@[^:：\s]+[:：]\s*")
_MENTION = re.compile(r"@[\w\u4e00-\u9fff\-·]{1,30}")
_TOPIC = re.compile(r"#[^#\n]{1,50}#")
_WEIBO_EMOTICON = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,8}\]")
_PUNCT_RUN = re.compile(r"([!?.,;:~\-_=*。，！？、…~]+)")
_CHAR_RUN = re.compile(r"(.)\1{3,}")
_SPACES = re.compile(r"\s+")
_MEANINGFUL = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2B00 <= code <= 0x2BFF
        or code in (0x200D, 0xFE0F, 0x20E3)
        or 0xE000 <= code <= 0xF8FF  # private use (platform emoticons)
    )


# emoji that carry a clear verdict are read as a word ("👍👍👍" is praise, "👎" is not); the rest
# are noise to the model
_EMOJI_WORDS = {"👍": "赞", "👏": "棒", "❤": "喜欢", "♥": "喜欢", "😍": "喜欢", "🥰": "喜欢", "💯": "满分",
                "⭐": "星", "🌟": "星", "👎": "差评", "😡": "生气", "🤬": "生气", "😠": "生气", "💢": "生气",
                "🤮": "恶心", "🤢": "恶心"}
# a row of stars is a rating: its filled stars counted ("★☆☆☆☆" is one star, a complaint; "★★★★★" five).
# Read as emoji, the row was noise and the message declined; one star alone stays the word 星
_STAR_ROW = re.compile(r"[⭐🌟★☆✩✰](?:\s*[⭐🌟★☆✩✰])+")
_FILLED_STARS = "⭐🌟★"
_STAR_COUNTS = "一两三四五"


def _star_rating(match: re.Match[str]) -> str:
    filled = sum(match.group(0).count(star) for star in _FILLED_STARS)
    return f" {_STAR_COUNTS[min(filled, 5) - 1]}星 " if filled else " "


def _strip_controls(text: str) -> str:
    return "".join(
        f" {_EMOJI_WORDS[ch]} " if ch in _EMOJI_WORDS
        else " " if _is_emoji(ch) or unicodedata.category(ch)[0] == "C" else ch for ch in text
    )


def _collapse_punctuation(match: re.Match[str]) -> str:
    run = match.group(1)
    if "?" in run or "？" in run:
        return "?"
    if "!" in run or "！" in run:
        return "!"
    return run[0]


def normalise(text: str, max_chars: int = 200) -> str:
    """The form the model reads: Simplified, half-width, no platform noise, lower case."""
    text = unicodedata.normalize("NFKC", text)
    text = _STAR_ROW.sub(_star_rating, text)
    text = _strip_controls(text)
    text = _REPLY_PREFIX.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _TOPIC.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _WEIBO_EMOTICON.sub(" ", text)
    text = _converter().convert(text)
    text = _PUNCT_RUN.sub(_collapse_punctuation, text)
    text = _CHAR_RUN.sub(lambda m: m.group(1) * 3, text)
    text = _SPACES.sub(" ", text).strip().lower()
    return _head_and_tail(text, max_chars)


def _head_and_tail(text: str, max_chars: int) -> str:
    """A text longer than `max_chars`: its first and its last half of them. A long review says what it
    thinks at its start or at its end ("...用了半个月就开始自动重启 ... 非常失望，不推荐"): cut to its
    head, the complaint after two hundred characters of description was thanked as praise."""
    if len(text) <= max_chars:
        return text
    head = max_chars // 2
    return f"{text[:head].strip()} {text[len(text) - (max_chars - head - 1):].strip()}"


def is_meaningful(normalised: str) -> bool:
    """Whether there is anything for the model to read (letters, digits or Chinese)."""
    return bool(_MEANINGFUL.search(normalised))
