"""Star ratings and scores said inside a message: "一星 不能再多了", "给五颗星", "打个零分", "外观满分 续航零分".

Why a reader beside the models: a rating is the customer's own verdict in numbers, and the models
read numbers as characters. The tone model heard "一星" as a complaint but "1分 不能再多" and "打个
零分" as nothing at all (declined as out of scope), and a character model cannot tell "0分" from
"10分" or "100分", which contain it. (A message that is only a rating, in reply to a satisfaction
survey, is `actions.csat.rating_of`'s; this one finds ratings within a review.)

What is not a rating: 星期, 星座, 五星级 (a hotel's class), 五星电器, 十分 ("very"), 七分裤, 四十分钟,
一分钱一分货, 650分 (a credit score), 5分熟 (a steak), 3分糖 (milk tea), 2分之1, 月息2分利.
"""
from __future__ import annotations

import re
import unicodedata

from actions.csat import NUMERALS

_FIGURES = {**NUMERALS, "零": 0, "负": 0, "满": 5}
# a figure glued to a number before it is part of that number ("十五星", "650分")
_NOT_AFTER_NUMBER = r"(?<![0-9.零一二两三四五六七八九十百千万几])"
_STARS = re.compile(_NOT_AFTER_NUMBER + f"([{''.join(NUMERALS)}])" + r"\s*(?:颗|个)?星(?![期座级际球光空辰系]|电器|红旗|酒店|宾馆|饭店)")
# scores: digits out of 5 or 10 (or 100); in words only the unmistakable ones, and 一分 after a verb
# of rating ("给一分都多", but not "一分钱一分货" or "一分都不退")
_SCORES = re.compile(_NOT_AFTER_NUMBER + r"(?:(100|10|[0-9])\s*分|([满零负])分|(?<=[打给评])\s*个?(一)分)(?![钟钱期货熟糖甜饱之贝半利])")

# at most this is a complaint ("两星", "打2分"). A high rating is left to the models, which know "五星好评"
# from their examples: in real reviews "四星的酒店" and "五星的标准" are a hotel's class more often than
# a verdict, and a complaint of one ("这也叫四星？") must not be thanked for.
LOW = 2.0


def _as_stars(score: str) -> float:
    value = int(score)
    return 5.0 if value == 100 else value / 2 if value > 5 else float(value)


def rating(text: str) -> float | None:
    """The lowest rating the message gives, on a scale of 0 to 5 stars, or None if it gives none:
    where it rates one thing high and another low, the low one is the complaint."""
    plain = unicodedata.normalize("NFKC", text)
    found = [float(_FIGURES[figure]) for figure in _STARS.findall(plain)]
    for digits, word, one in _SCORES.findall(plain):
        found.append(_as_stars(digits) if digits else float(_FIGURES[word or one]))
    return min(found) if found else None
