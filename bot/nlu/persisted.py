"""What our trainable Rasa components share: their whole trained state is one pickled object
in the component's resource of the model archive (plus, where the service must read it without
rasa, plain JSON files beside it)."""
from __future__ import annotations

import pickle
from typing import Any, Dict, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

STATE_FILE = "state.pkl"


class PersistedComponent(GraphComponent):
    """Subclasses give `get_default_config`, `train` (ending with `self._persist(state)`) and
    `process` (reading `self._state`, None until trained or loaded)."""

    def __init__(self, config: Dict[Text, Any], storage: ModelStorage, resource: Resource,
                 state: Optional[Any] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = storage
        self._resource = resource
        self._state = state

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "PersistedComponent":
        return cls(config, model_storage, resource)

    def _persist(self, state: Any, text_files: Optional[Dict[str, str]] = None) -> Resource:
        self._state = state
        with self._storage.write_to(self._resource) as directory:
            (directory / STATE_FILE).write_bytes(pickle.dumps(state))
            for name, text in (text_files or {}).items():
                (directory / name).write_text(text, encoding="utf-8")
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "PersistedComponent":
        with model_storage.read_from(resource) as directory:
            state = pickle.loads((directory / STATE_FILE).read_bytes())
        return cls(config, model_storage, resource, state)
