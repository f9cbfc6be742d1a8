"""What the classifier hears of a text (bot/nlu/sounds.py): a homophone typo of a pinyin input method
sounds like the word it stands for. Run in the NLU environment, where pypinyin is installed."""
from tests.nlu_env import run_in_nlu_env

HEARD = """
import pickle
from bot.nlu.sounds import SoundGrams, sound_table, sounds
table = sound_table(["发票怎么开", "快递到哪了", "冻结"])
# the typo's character is in no training text: GB2312's characters are all in the table
assert {"漂", "滴", "洁"} <= set(table) and len(table) > 6700, len(table)
assert sounds("发漂", table) == sounds("发票", table) == ["fa", "piao"]
assert sounds("快滴", table) == sounds("快递", table) and sounds("冻洁", table) == sounds("冻结", table)
assert sounds("发票", table) != sounds("发货", table)
# what has no syllable breaks the run: no bigram across it
assert sounds("app发票", table) == ["|", "|", "|", "fa", "piao"]
assert SoundGrams(table)("发漂 A") == ["fa", "piao", "fa piao"]
# it is pickled with the model
assert pickle.loads(pickle.dumps(SoundGrams(table)))("发漂") == ["fa", "piao", "fa piao"]
print("heard")
"""


def test_a_typo_of_a_pinyin_input_method_sounds_like_the_word_it_stands_for():
    assert run_in_nlu_env(HEARD) == "heard"


RESPELLED = """
import jieba
from bot.nlu.classifier import CalibratedIntentClassifier, Scorer
from bot.nlu.sounds import sound_table
faq_examples = ["快借利息怎么算", "先花额度怎么提升", "支付密码忘了怎么办", "电能怎么计量 电能多少", "说的话算数吗"]
scorer = Scorer(CalibratedIntentClassifier.get_default_config())
scorer.taught = "\\n".join(faq_examples).lower()
scorer.faq_text = {"faq__a": scorer.taught}
scorer.words.fit([jieba.lcut(example) for example in faq_examples])
scorer.sound_table = sound_table([scorer.taught])
# one character of an FAQ's term replaced by another of its sound: put right
assert scorer.respelled("快借利细怎么计算") == "快借利息怎么计算", scorer.respelled("快借利细怎么计算")
assert scorer.respelled("支付密马忘记了") == "支付密码忘记了"
assert scorer.respelled("先花额渡变小了 怎么提") == "先花额度变小了 怎么提"
# two characters that only sound like a term across a word boundary: 这家|店能 is not 电能
assert scorer.respelled("这家店能用先花吗") == "这家店能用先花吗"
# a grammar character: 我的|花呗 is not 的话
assert scorer.respelled("我的花呗用不了") == "我的花呗用不了"
# both characters wrong (an input method's pick of a whole word): left alone
assert scorer.respelled("秘马忘了") == "秘马忘了"
print("respelled")
"""


def test_a_typo_of_an_faqs_term_is_put_right_before_the_model_reads_it():
    """"快借利细怎么计算" shares no character with the loan-interest FAQ's 利息 in the very word it asks about; put
    right, 0-2 points more of the few-shot typo sets' lines are routed at once (docs/performance.md,
    `fewshot_*_typo_*`)."""
    assert run_in_nlu_env(RESPELLED) == "respelled"
