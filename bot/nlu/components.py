"""Custom Rasa components, run in the NLU worker only.

`NearestExample`: DIET gives unrelated text confidences above 0.9 (rasa_notes.md), so
confidence alone cannot reject out-of-scope messages. The cosine similarity of character
n-grams to the closest training example is an independent signal: text unlike anything the
bot was taught scores low whatever the classifier believes.

`BatchedDIETClassifier` and `BatchedCountVectorsFeaturizer`: Rasa's DIET and count
vectors train on batches but predict one message per TensorFlow or sklearn call, and the
fixed cost of a call is most of a short text's parse. The worker hands the graph every text
that arrived together, so one call for all of them is where the throughput of the webhook
comes from (bench/webhook.py).
"""
from __future__ import annotations

import pickle
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer

NEAREST = "nearest"
# texts per TensorFlow call: the first call at each batch size costs up to a few hundred ms, so
# the worker makes one call of every size up to this when it loads a model (bot/nlu/worker.py)
PREDICT_BATCH = 64


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class NearestExample(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"min_ngram": 1, "max_ngram": 3}

    def __init__(self, config: Dict[Text, Any], storage: ModelStorage, resource: Resource,
                 state: Optional[Dict[str, Any]] = None) -> None:
        self._config = config
        self._storage = storage
        self._resource = resource
        self._state = state

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "NearestExample":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get("text")]
        vectorizer = TfidfVectorizer(analyzer="char_wb", sublinear_tf=True,
                                     ngram_range=(self._config["min_ngram"], self._config["max_ngram"]))
        matrix = vectorizer.fit_transform([m.get("text") for m in examples])
        state = {"vectorizer": vectorizer, "matrix": matrix,
                 "intents": [m.get("intent") for m in examples]}
        with self._storage.write_to(self._resource) as directory:
            (directory / "nearest.pkl").write_bytes(pickle.dumps(state))
        self._state = state
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "NearestExample":
        with model_storage.read_from(resource) as directory:
            state = pickle.loads((directory / "nearest.pkl").read_bytes())
        return cls(config, model_storage, resource, state)

    def process(self, messages: List[Message]) -> List[Message]:
        if not self._state or not messages:
            return messages
        texts = [m.get("text") or "" for m in messages]
        scores = (self._state["vectorizer"].transform(texts) @ self._state["matrix"].T).toarray()
        for message, row in zip(messages, scores):
            best = int(np.argmax(row)) if row.size else 0
            similarity = float(row[best]) if row.size else 0.0
            message.set(NEAREST, {"intent": self._state["intents"][best] if row.size else None,
                                  "similarity": round(similarity, 4)}, add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class BatchedDIETClassifier(DIETClassifier):
    """DIET, trained as Rasa trains it; predicts all messages of a graph run in one call.

    The scores are the same as one call per message (padding is masked; tests/test_nlu_pool.py
    compares them). Entity extraction and diagnostic data keep Rasa's own per-message path.
    """

    def process(self, messages: List[Message]) -> List[Message]:
        config = self.component_config
        if (self.model is None or config["entity_recognition"] or not config["intent_classification"]
                or self._execution_context.should_add_diagnostic_data):
            return super().process(messages)
        featurized: List[Message] = []
        unreadable: List[Message] = []  # nothing to read: Rasa's own empty answer
        for message in messages:
            readable = message.features_present(attribute=TEXT, featurizers=config.get("featurizers"))
            (featurized if readable else unreadable).append(message)
        # one call per chunk: Rasa's own multi-batch inference cannot merge batches padded to
        # different lengths
        for start in range(0, len(featurized), PREDICT_BATCH):
            chunk = featurized[start:start + PREDICT_BATCH]
            model_data = self._create_model_data(chunk, training=False)
            scores = self.model.run_inference(model_data, batch_size=len(chunk))["i_scores"]
            for index, message in enumerate(chunk):
                label, ranking = self._predict_label({"i_scores": scores[index:index + 1]})
                message.set(INTENT, label, add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        if unreadable:
            super().process(unreadable)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class BatchedCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Rasa's count vectors, trained as Rasa trains them; featurizes all messages of a graph run
    with one `transform` per attribute (the rows are the same: each token is counted alone)."""

    def process(self, messages: List[Message]) -> List[Message]:
        if self.vectorizers is None:
            return super().process(messages)  # logs that nothing was trained
        for attribute in self._attributes:
            vectorizer = self.vectorizers.get(attribute)
            tokens = [self._get_processed_message_tokens_by_attribute(m, attribute) for m in messages]
            present = [(message, words) for message, words in zip(messages, tokens) if words]
            if not vectorizer or not present:
                continue
            sequences = vectorizer.transform([word for _, words in present for word in words])
            sentences = (vectorizer.transform([" ".join(words) for _, words in present])
                         if attribute in DENSE_FEATURIZABLE_ATTRIBUTES else None)
            start = 0
            for row, (message, words) in enumerate(present):
                sequence = sequences[start:start + len(words)]
                start += len(words)
                sequence.sort_indices()
                sentence = None
                if sentences is not None:
                    sentence = sentences[row]
                    sentence.sort_indices()
                    sentence = sentence.tocoo()
                self.add_features_to_message(sequence.tocoo(), sentence, attribute, message)
        return messages
