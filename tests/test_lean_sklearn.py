"""The NLU worker's faster vectorizer and weight layout (bot/nlu/lean_sklearn.py) give the numbers
scikit-learn's own path gives. Run in the NLU environment, where scikit-learn is installed: an
upgrade that changed what `TfidfVectorizer.transform` does would fail here, not skew the models."""
from tests.nlu_env import run_in_nlu_env

SAME_NUMBERS = """
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from bot.nlu.lean_sklearn import TfidfFeatures, column_major

train = ["衣服洗了一次就起球了", "物流很快 包装也好", "退款多久能到账", "发票怎么开", "掉色掉得厲害😡",
         "东西不错 下次还来", "快递三天没动了", "质量很好 物超所值", "尺码偏小一码", "客服回复很及时"]
labels = ["complain", "praise", "other", "other", "complain", "praise", "complain", "praise", "complain", "praise"]
asked = ["起球严重 不满意", "包装很好", "发票", "完全陌生的话 abc", "", "👍👍👍"]
for options in ({"analyzer": "char", "ngram_range": (1, 3), "sublinear_tf": True, "min_df": 1},
                {"analyzer": "char", "ngram_range": (1, 2), "sublinear_tf": True, "smooth_idf": False},
                {"analyzer": "char_wb", "ngram_range": (1, 3), "sublinear_tf": True},
                {"analyzer": list, "norm": None}):
    theirs = TfidfVectorizer(**options).fit(train)
    ours = TfidfFeatures(**options).fit(train)
    difference = abs(ours.transform(asked) - theirs.transform(asked)).max()
    assert difference < 1e-12, (options, difference)
    assert ours.transform(asked).shape == theirs.transform(asked).shape
features = TfidfFeatures(analyzer="char", ngram_range=(1, 2)).fit(train)
X, Y = features.transform(train), features.transform(asked)
for model in (LogisticRegression(max_iter=500), SGDClassifier(loss="log_loss", random_state=1)):
    model.fit(X, labels)
    before = model.predict_proba(Y)
    column_major(model)
    assert model.coef_.T.flags["C_CONTIGUOUS"]
    assert np.abs(model.predict_proba(Y) - before).max() < 1e-12
print("same")
"""


def test_the_lean_vectorizer_and_weight_layout_give_scikit_learns_numbers():
    assert run_in_nlu_env(SAME_NUMBERS) == "same"
