"""Ratings said inside a message (bot/conversation/ratings.py): a low one is a complaint, whatever
the models heard; numbers that are not ratings change nothing."""
import pytest

from bot.conversation.policy import ThreadState, decide
from bot.conversation.ratings import rating
from bot.nlu.normalize import normalise
from tests.test_policy import FAQS, SETTINGS, parse


@pytest.mark.parametrize("text, stars", [
    ("一星 不能再多了", 1), ("给一颗星都嫌多", 1), ("两星吧 勉强", 2), ("1分 不能再多", 1), ("打个零分", 0),
    ("负分滚粗", 0), ("给一分都多", 1), ("打2分", 2), ("7分吧", 3.5), ("10分 推荐", 5), ("100分", 5),
    ("五星好评", 5), ("外观满分 续航零分", 0), ("四星 扣一星是因为物流慢", 1), ("評分1分", 1),
    # numbers that rate nothing
    ("等了三个星期都没收到货", None), ("星期天拍的", None), ("一分钱一分货 这个值", None), ("十分推荐", None),
    ("定个十分钟后的提醒", None), ("650分 我不够", None), ("特价机票一分都不退吗", None), ("五星级酒店", None),
    ("五星电器买的", None), ("这也叫五星酒店", None), ("十五星", None), ("周星驰的电影", None),
    ("牛排要5分熟", None), ("奶茶3分糖 少冰", None), ("只剩2分之1", None), ("月息2分利", None),
])
def test_what_counts_as_a_rating(text: str, stars):
    assert rating(text) == stars


def test_a_low_rating_is_a_complaint_that_the_models_did_not_hear():
    unheard = parse("out_of_scope", 0.5, complaint=0.3, praise=0.2)
    for text in ("一星 不能再多了", "打个零分", "1分 不能再多"):
        assert decide(unheard, text, ThreadState(), SETTINGS, FAQS).action == "open_ticket", text
    # a row of stars, as the model reads it (normalise counts the filled ones)
    for stars, action in (("★☆☆☆☆", "open_ticket"), ("★★☆☆☆ 东西一般", "open_ticket"), ("★★★★☆", "decline")):
        assert decide(unheard, normalise(stars), ThreadState(), SETTINGS, FAQS).action == action, stars
    # a rating of 3 or more, or a number that is no rating, leaves the decision to the models
    for text in ("三星 中规中矩", "等了三个星期了", "十分推荐"):
        assert decide(unheard, text, ThreadState(), SETTINGS, FAQS).action == "decline", text
