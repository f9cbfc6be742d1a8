"""Text normalisation applied to every message (and every training example) before NLU.

Customers write Traditional and Simplified (and Cantonese), full-width letters, Weibo @names and
#topics#, links, runs of punctuation, emoji and the platforms' emoticons. The model only ever sees
one canonical form, so one set of training examples covers all of them. The original text is
stored unchanged; this is only what the model reads.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_URL = re.compile(r"(?:https?://|www\.)\S+|\bt\.cn/\S+", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(?:回复|回覆|//)\s*@[^:：\s]+[:：]\s*")
_MENTION = re.compile(r"@[\w\u4e00-\u9fff\-·]{1,30}")
_TOPIC = re.compile(r"#([^#\n]{1,50})#")
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


# the platforms' own emoticons arrive as text: "[强]" (WeChat) and "[赞]" (Weibo), "/:strong" and "/::@" from
# older WeChat clients. Those with a verdict are read as a word, like the emoji above ("[强][强][强]" is praise, as
# "👍👍👍" is); the rest are noise. Unread, an old code made a message start with "/", which Rasa takes for an
# intent typed by hand (bot/nlu/worker.py)
_EMOTICON_WORDS = {"强": "赞", "赞": "赞", "good": "赞", "666": "赞", "鼓掌": "棒", "威武": "棒", "给力": "给力",
                   "爱心": "喜欢", "心": "喜欢", "爱你": "喜欢", "示爱": "喜欢", "弱": "差评", "差劲": "差评",
                   "发怒": "生气", "怒": "生气", "怒骂": "生气", "咒骂": "生气", "抓狂": "生气", "怄火": "生气",
                   "吐": "恶心", "鄙视": "鄙视", "心碎": "失望", "伤心": "失望", "失望": "失望", "无语": "无语"}
_EMOTICON = re.compile(r"\[([\u4e00-\u9fffA-Za-z0-9]{1,8})\]")
_OLD_WECHAT_WORDS = {"/:strong": "赞", "/:handclap": "棒", "/:heart": "喜欢", "/:lvu": "喜欢", "/:showlove": "喜欢",
                     "/:love": "喜欢", "/:weak": "差评", "/:bad": "差评", "/::@": "生气", "/::Q": "生气",
                     "/::-S": "生气", "/:<O>": "生气", "/::T": "恶心", "/:>-|": "鄙视", "/:break": "失望"}
_OLD_WECHAT_NOISE = (
    "/::)", "/::~", "/::B", "/::|", "/:8-)", "/::<", "/::$", "/::X", "/::Z", "/::'(", "/::-|", "/::P", "/::D",
    "/::O", "/::(", "/::+", "/:--b", "/:,@P", "/:,@-D", "/::d", "/:,@o", "/::g", "/:|-)", "/::!", "/::L",
    "/::>", "/::,@", "/:,@f", "/:?", "/:,@x", "/:,@@", "/::8", "/:,@!", "/:!!!", "/:xx", "/:bye", "/:wipe",
    "/:dig", "/:&-(", "/:B-)", "/:<@", "/:@>", "/::-O", "/:P-(", "/::'|", "/:X-)", "/::*", "/:@x", "/:8*",
    "/:pd", "/:<W>", "/:beer", "/:basketb", "/:oo", "/:coffee", "/:eat", "/:pig", "/:rose", "/:fade", "/:cake",
    "/:li", "/:bome", "/:kn", "/:footb", "/:ladybug", "/:shit", "/:moon", "/:sun", "/:gift", "/:hug", "/:share",
    "/:v", "/:@)", "/:jj", "/:@@", "/:no", "/:ok", "/:<L>", "/:jump", "/:shake", "/:circle", "/:kotow",
    "/:turn", "/:skip", "/:oY")
# the longest code first: "/::-O" is not "/::-" and an "O"
_OLD_WECHAT = re.compile("|".join(re.escape(code) for code in sorted(
    (*_OLD_WECHAT_WORDS, *_OLD_WECHAT_NOISE), key=len, reverse=True)))


def _emoticons(text: str) -> str:
    text = _OLD_WECHAT.sub(lambda m: f" {_OLD_WECHAT_WORDS.get(m.group(0), '')} ", text)
    return _EMOTICON.sub(lambda m: f" {_EMOTICON_WORDS.get(m.group(1).lower(), '')} ", text)


# Hong Kong customers write Cantonese ("点解仲未收到货", "系唔系正货嚟㗎"), and no training example is in it:
# its common words become the Mandarin the models read, as Traditional characters become Simplified. After
# OpenCC, so the keys are simplified; only words that Mandarin does not use, also across a word boundary (not
# 系 alone: 关系; not 而家: 然而家里; not 听日: 听日语)
_CANTONESE = {"乜嘢": "什么", "乜野": "什么", "咩嘢": "什么", "咩料": "什么料", "做咩": "做什么", "系咩": "是什么",
              "系唔系": "是不是", "系咪": "是不是", "唔系": "不是", "有冇": "有没有", "得唔得": "行不行", "多谢晒": "谢谢", "唔该晒": "谢谢",
              "仲未": "还没", "仲有": "还有", "咁嘅": "这样的", "嚟㗎": "", "乜": "什么", "冇": "没有", "嘅": "的",
              "咗": "了", "喺": "在", "哋": "们", "嚟": "来", "㗎": "", "啲": "些", "嘢": "东西", "睇": "看", "俾": "给",
              "畀": "给", "佢": "他", "揾": "找", "搵": "找", "攞": "拿", "咁": "这么"}
_CANTONESE_WORD = re.compile("|".join(sorted(_CANTONESE, key=len, reverse=True)))
# words only in their place: 唔该 is "please" before a request ("唔该转真人") and "thanks" after one (唔该晒, many
# thanks, is in the table); 唔 ("not") before a word (alone it is also Mandarin's "hmm": "唔，还可以"); 点解
# ("why") opens a question, after its subject at most (inside a sentence it is 网点 解锁, 重点 解决)
_BEFORE_A_WORD = r"(?=[\u4e00-\u9fff])"
_CANTONESE_IN_PLACE = ((re.compile("唔该" + _BEFORE_A_WORD), "请"), (re.compile("唔该"), "谢谢"),
                       (re.compile("唔" + _BEFORE_A_WORD), "不"),
                       (re.compile(r"(^|[\s,.!?;:~你我他她们])点解"), r"\1为什么"))


def _cantonese_to_mandarin(text: str) -> str:
    text = _CANTONESE_WORD.sub(lambda m: _CANTONESE[m.group(0)], text)
    for pattern, mandarin in _CANTONESE_IN_PLACE:
        text = pattern.sub(mandarin, text)
    return text


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
    text = _emoticons(text)
    text = _TOPIC.sub(lambda m: f" {m.group(1)} ", text)  # a tag may be the verdict: "#避雷# 这家的衣服", "#差评#"
    text = _MENTION.sub(" ", text)
    text = _converter().convert(text)
    text = _cantonese_to_mandarin(text)
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
