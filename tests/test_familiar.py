"""Which of a message's words the training data knows (bot/nlu/classifier.familiar_share): a message
about nothing taught is declined, whatever the model ranks first. Run in the NLU environment, where
the classifier's imports (Rasa, scikit-learn) are installed."""
from tests.nlu_env import run_in_nlu_env

MIXED_ENGLISH = """
from bot.nlu.classifier import familiar_share
vocabulary = {"账户": 0, "解锁": 1, "锁": 2, "冻结": 3}
taught = "账户被锁了怎么解锁\\n账户冻结了怎么办"
def share(tokens):
    return familiar_share(tokens, vocabulary, taught, lambda word: False, lambda pair: False)
# the English words say what the Chinese examples say, in letters no example uses: not "never taught"
assert share(["account", "locked", "怎么", "解"]) == round(2 / 3, 4), share(["account", "locked", "怎么", "解"])
assert share(["early", "repay", "有", "penalty", "吗"]) == 1.0
# Chinese words no example used still count against the message, beside English or alone
assert share(["奥运会", "下", "一届", "在", "哪"]) == 0.0
assert share(["hk", "stock", "奥运会"]) == round(2 / 3, 4)
# digits and letters mixed (5g, r4) are not English words: judged as before
assert share(["5g", "套餐"]) == 0.0
print("familiar")
"""


def test_english_words_mixed_into_a_chinese_message_do_not_make_it_about_something_never_taught():
    """"account locked怎么解?" (a broker's customer) was declined as about nothing taught: its content
    words, account / locked / 解, are in no example, although the model, reading the multilingual
    sentence vectors, ranked the locked-account FAQ first at 0.8."""
    assert run_in_nlu_env(MIXED_ENGLISH) == "familiar"
