"""Reading and writing Rasa 3 YAML training data (nlu examples and `utter_faq/*` responses).

Read through PyYAML's node tree rather than plain `safe_load`, so that every error names
the line of the file it comes from: an admin importing a broken file must be told where.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.nlu.names import is_faq
from bot.store.faq import FaqRecord

_INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(/[a-z0-9_]+)?$")


class TrainingFileError(ValueError):
    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.line, self.reason = line, reason


@dataclass(frozen=True)
class IntentBlock:
    name: str
    examples: tuple[str, ...]
    question: str = ""


def _mapping(node: yaml.Node, path: str, what: str) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise TrainingFileError(path, node.start_mark.line + 1, f"{what} must be a mapping")
    result: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise TrainingFileError(path, key.start_mark.line + 1, "keys must be plain text")
        result[key.value] = value
    return result


def _scalar(node: yaml.Node, path: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise TrainingFileError(path, node.start_mark.line + 1, f"{what} must be text")
    return node.value


def _examples(node: yaml.Node, path: str, intent: str) -> tuple[str, ...]:
    block = _scalar(node, path, f"examples of {intent}")
    first_line = node.start_mark.line + 1 + (1 if node.style in ("|", ">") else 0)
    examples = []
    for offset, raw in enumerate(block.splitlines()):
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("- ") or not line[2:].strip():
            raise TrainingFileError(path, first_line + offset,
                                    f"an example of {intent} must look like '- text', got {line!r}")
        examples.append(line[2:].strip())
    if not examples:
        raise TrainingFileError(path, node.start_mark.line + 1, f"intent {intent} has no examples")
    return tuple(examples)


def read(path: Path) -> tuple[list[IntentBlock], dict[str, str]]:
    """Intent blocks and the first text of each response, validated with line numbers."""
    return parse(path.read_bytes(), str(path))


def parse(data: bytes, name: str) -> tuple[list[IntentBlock], dict[str, str]]:
    """`read` of a file's bytes (an upload), `name` naming it in errors."""
    try:
        root = yaml.compose(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise TrainingFileError(name, 1, "the file is not UTF-8 text")
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise TrainingFileError(name, line, f"not valid YAML: {exc.problem}")
    if root is None:
        raise TrainingFileError(name, 1, "the file is empty")
    top = _mapping(root, name, "the file")
    intents: list[IntentBlock] = []
    seen: set[str] = set()
    nlu = top.get("nlu")
    if nlu is not None:
        if not isinstance(nlu, yaml.SequenceNode):
            raise TrainingFileError(name, nlu.start_mark.line + 1, "nlu must be a list")
        for item in nlu.value:
            fields = _mapping(item, name, "an nlu entry")
            line = item.start_mark.line + 1
            if "intent" not in fields:
                continue  # synonyms, regexes, lookups: not ours to manage
            intent = _scalar(fields["intent"], name, "intent")
            if not _INTENT_NAME.match(intent):
                raise TrainingFileError(name, line, f"bad intent name {intent!r} (use e.g. faq/shipping_time)")
            if intent in seen:
                raise TrainingFileError(name, line, f"intent {intent} appears twice")
            seen.add(intent)
            if "examples" not in fields:
                raise TrainingFileError(name, line, f"intent {intent} has no examples")
            question = ""
            if "metadata" in fields:
                meta = _mapping(fields["metadata"], name, "metadata")
                if "question" in meta:
                    question = _scalar(meta["question"], name, "question")
            intents.append(IntentBlock(intent, _examples(fields["examples"], name, intent), question))
    responses: dict[str, str] = {}
    if "responses" in top:
        for key, value in _mapping(top["responses"], name, "responses").items():
            line = value.start_mark.line + 1
            if not isinstance(value, yaml.SequenceNode) or not value.value:
                raise TrainingFileError(name, line, f"response {key} must be a list of {{text: ...}}")
            first = _mapping(value.value[0], name, f"response {key}")
            if "text" not in first:
                raise TrainingFileError(name, line, f"response {key} has no text")
            responses[key] = _scalar(first["text"], name, f"text of {key}")
    return intents, responses


def read_faq(path: Path) -> list[FaqRecord]:
    """FAQ intents of a file; every `faq/x` needs its `utter_faq/x` answer."""
    return parse_faq(path.read_bytes(), str(path))


def parse_faq(data: bytes, name: str) -> list[FaqRecord]:
    """`read_faq` of a file's bytes (an upload), `name` naming it in errors."""
    intents, responses = parse(data, name)
    records = []
    for block in intents:
        if not is_faq(block.name):
            continue
        answer = responses.get("utter_" + block.name, "").strip()
        if not answer:
            raise TrainingFileError(name, 1, f"intent {block.name} has no response utter_{block.name}")
        records.append(FaqRecord(block.name, block.question or block.examples[0], block.examples, answer))
    if not records:
        raise TrainingFileError(name, 1, "no faq/* intents in the file")
    return records


def _literal(text: str) -> str:
    return yaml.safe_dump(text, allow_unicode=True, default_style='"', width=10_000).strip()


def render(blocks: list[IntentBlock], responses: dict[str, str]) -> str:
    """Rasa 3 YAML; examples one per line, as Rasa and admins expect to read them."""
    out = ['version: "3.1"', "nlu:"]
    for block in blocks:
        out.append(f"- intent: {block.name}")
        if block.question:
            out += ["  metadata:", f"    question: {_literal(block.question)}"]
        out.append("  examples: |")
        out += [f"    - {' '.join(example.split())}" for example in block.examples]
    if responses:
        out.append("responses:")
        for key, text in responses.items():
            out += [f"  {key}:", f"  - text: {_literal(text)}"]
    return "\n".join(out) + "\n"


def render_faq(records: list[FaqRecord]) -> str:
    return render([IntentBlock(r.name, r.examples, r.question) for r in records],
                  {"utter_" + r.name: r.answer for r in records})
