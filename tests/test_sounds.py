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
