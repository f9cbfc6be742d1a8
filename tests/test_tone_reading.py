"""How the tone model reads a review (bot/nlu/tone.faults_denied): a fault the review denies is one mark, not the
fault's word. Run in the NLU environment, where the tone model's imports are installed."""
from tests.nlu_env import run_in_nlu_env

DENIED_FAULTS = """
from bot.nlu.tone import DENIED, faults_denied
# denied, before or after the fault, with what may stand between: one mark each
for text, read in [("完全没有异味,拆开就能用", f"完全{DENIED},拆开就能用"), ("一点都不漏", f"一点都{DENIED}"),
                   ("没有任何质量问题 好评", f"{DENIED} 好评"), ("草莓一个坏的都没有", f"草莓一个{DENIED}"),
                   ("用了一个月一点问题没有", f"用了一个月一点{DENIED}"), ("没起球也没掉色", f"{DENIED}也{DENIED}"),
                   ("后悔没早点买", DENIED), ("强烈推荐 不买后悔", f"强烈推荐 {DENIED}")]:
    assert faults_denied(text) == read, (text, faults_denied(text))
# a fault not denied, or one that was not fixed, stays as written: these are complaints
for text in ("没有解决问题", "问题没有解决", "漏水问题还是没有解决", "坏的没有退", "刚收到就有异味", "不满意",
             "后悔买了一套", "谁买谁后悔"):
    assert faults_denied(text) == text, (text, faults_denied(text))
print("read")
"""


def test_a_fault_a_review_denies_is_read_as_denied_and_one_not_fixed_as_a_fault():
    """"穿了一个月没起球也没掉色" and "没有任何瑕疵 包装也好" were tickets: the tone model's character n-grams heard
    起球, 掉色 and 瑕疵 and not their negation (complaint tone 0.73 and 0.57)."""
    assert run_in_nlu_env(DENIED_FAULTS) == "read"
