"""Training: assemble the data, train in `.venv-nlu` only when it changed, register, gate, activate.

The training set is the conversation intents of nlu_data/ plus the FAQ intents as admins
keep them in the database, every example normalised exactly as live messages are. The
hash of that set, the pipeline config, the jieba dictionary and the code that shapes the
model names the model file: the same inputs never train twice, and a test run can share
one trained model between many fresh databases.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import yaml

from bot.nlu import rasa_yaml
from bot.nlu.archive import model_calibration, served_format
from bot.nlu.gate import held_back
from bot.nlu.names import ANSWER_PREFIX, to_rasa
from bot.nlu.normalize import normalise
from bot.nlu.pool import NluUnavailable, worker_command
from bot.settings import PROJECT_ROOT, Settings
from bot.store import faq, intent_examples, nlu_models
from bot.store.db import Database
from bot.store.models import NluModel

CONVERSATION_FILE = "conversation.yml"
DEFAULT_FAQ_FILE = "faq.yml"
_MODEL_CODE = ("bot/nlu/classifier.py", "bot/nlu/tone.py", "bot/nlu/persisted.py", "bot/nlu/normalize.py",
               "bot/nlu/names.py", "bot/nlu/labelled.py")
# pipeline options naming files of nlu_data/, made absolute for the worker and hashed with the data
_DATA_FILE_OPTIONS = ("dictionary_path", "exclusions", "reviews", "pairs")


@dataclass(frozen=True)
class TrainingSet:
    directory: Path
    data_hash: str


def model_file(settings: Settings, data_hash: str) -> Path:
    """Models are named by the hash of what they were trained on, so a cache can be shared."""
    return settings.models_dir / f"nlu-{data_hash[:20]}.tar.gz"


async def load_default_faqs(db: Database, settings: Settings) -> bool:
    """Fill an empty FAQ table from nlu_data/faq.yml. Returns whether it did."""
    async with db.uow() as session:
        if not await faq.is_empty(session):
            return False
        await faq.upsert(session, rasa_yaml.read_faq(settings.nlu_data_dir / DEFAULT_FAQ_FILE), replace=False)
    return True


def conversation_intents(settings: Settings) -> list[str]:
    """The intents of nlu_data/conversation.yml (complain, out_of_scope, ...): what besides the
    FAQs an admin may add an example to."""
    conversation, _ = rasa_yaml.read(settings.nlu_data_dir / CONVERSATION_FILE)
    return [block.name for block in conversation if not block.name.startswith("faq/")]


async def training_blocks(db: Database, settings: Settings) -> list[rasa_yaml.IntentBlock]:
    """Every intent's examples as the next training reads them: normalised, each text once
    (the first intent to claim it keeps it); FAQ intents under their Rasa names."""
    return _normalised_blocks(*await _stored_training_data(db), settings)


async def _stored_training_data(db: Database) -> tuple[list[faq.FaqRecord], dict[str, list[str]]]:
    """The FAQs and the examples admins added, read in one session (one state of the database)."""
    async with db.sessions() as session:
        return await faq.records(session), await intent_examples.by_intent(session)


def _normalised_blocks(records: list[faq.FaqRecord], added: dict[str, list[str]],
                       settings: Settings) -> list[rasa_yaml.IntentBlock]:
    conversation, _ = rasa_yaml.read(settings.nlu_data_dir / CONVERSATION_FILE)
    # the title question an admin wrote is an example too: with 3-5 examples every phrasing counts
    blocks = [rasa_yaml.IntentBlock(to_rasa(r.name), (r.question, *r.examples)) for r in records]
    # the examples admins added (labelled misses) follow the repository's own
    blocks += [rasa_yaml.IntentBlock(b.name, (*b.examples, *added.get(b.name, ())))
               for b in conversation if not b.name.startswith("faq/")]
    seen: set[str] = set()
    normalised_blocks = []
    for block in blocks:
        examples = []
        for example in block.examples:
            text = normalise(example, settings.nlu_max_chars)
            if text and text not in seen:  # two intents must not claim the same text
                seen.add(text)
                examples.append(text)
        if examples:
            normalised_blocks.append(rasa_yaml.IntentBlock(block.name, tuple(examples)))
    return normalised_blocks


async def assemble(db: Database, settings: Settings, directory: Path) -> TrainingSet:
    """Write nlu.yml and config.yml for Rasa into `directory`; return them with their hash."""
    records, added = await _stored_training_data(db)
    normalised_blocks = _normalised_blocks(records, added, settings)
    # the answers go with the examples: an FAQ's answer names what its question is about
    # (Scorer._by_wording in the worker reads them)
    answers = {ANSWER_PREFIX + to_rasa(r.name): normalise(r.answer, len(r.answer)) for r in records if r.answer}
    directory.mkdir(parents=True, exist_ok=True)
    nlu_text = rasa_yaml.render(normalised_blocks, answers)
    (directory / "nlu.yml").write_text(nlu_text, encoding="utf-8")

    config = yaml.safe_load(settings.config_path.read_text(encoding="utf-8"))
    data_files: list[Path] = []
    for component in config.get("pipeline", []):
        for option in _DATA_FILE_OPTIONS:
            if component.get(option):
                # relative to the data directory in use (tests point CAREBOT_NLU_DATA elsewhere)
                path = settings.nlu_data_dir / Path(component[option]).relative_to("nlu_data") \
                    if component[option].startswith("nlu_data/") else Path(component[option])
                component[option] = str(path)
                data_files += sorted(path.glob("*")) if path.is_dir() else [path] if path.is_file() else []
    config_text = yaml.safe_dump(config, allow_unicode=True, sort_keys=True)
    (directory / "config.yml").write_text(config_text, encoding="utf-8")

    digest = hashlib.sha256()
    digest.update(nlu_text.encode())
    digest.update(json.dumps({k: v for k, v in config.items()}, sort_keys=True, default=str).encode())
    for path in data_files:
        digest.update(path.read_bytes())
    for code in _MODEL_CODE:
        digest.update((PROJECT_ROOT / code).read_bytes())
    return TrainingSet(directory, digest.hexdigest())


async def run_worker(settings: Settings, *args: str, show_progress: bool = True) -> list[dict]:
    """Run a worker subcommand; its stderr (Rasa's progress bars) goes to the terminal."""
    command, env = worker_command(settings, *args)
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=None if show_progress else asyncio.subprocess.DEVNULL)
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise NluUnavailable(f"NLU worker {args[0]} failed with exit code {process.returncode}")
    events = []
    for line in output.decode().splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


async def active_model(db: Database) -> NluModel | None:
    async with db.sessions() as session:
        return await nlu_models.active(session)


@dataclass(frozen=True)
class Trained:
    """What `train` did with the model of the current data."""
    model: NluModel  # the model of the current data
    active: NluModel  # the model the servers use now: `model`, unless the gate held it back
    trained: bool  # trained now (not found in the models directory)
    reasons: list[str]  # why the gate held `model` back; [] when it is active

    @property
    def held_back(self) -> bool:
        return self.model.id != self.active.id


Judge = Callable[[NluModel, NluModel], Awaitable[list[str]]]
"""More reasons to hold a candidate back than cross-validation's: (candidate, active) -> reasons.
The deployment's test set is scored through the policy (bot.conversation.retraining), a layer
above this one, so it comes in as a function."""


async def register_and_activate(db: Database, data_hash: str, path: Path, metrics: dict | None = None, *,
                                gate: bool = True, judge: Judge | None = None) -> Trained:
    """Register the model file at `path` and activate it, unless the gate (cross-validation,
    then `judge`) finds it worse than the active model (then it stays a candidate, with the
    reasons). The first model is always activated; `gate=False` activates regardless."""
    async with db.uow() as session:
        model = await nlu_models.register(session, data_hash, str(path), metrics, datetime.now(timezone.utc))
        active = await nlu_models.active(session)
    reasons: list[str] = []
    # an active model this code cannot serve (trained before a model format change) gives way
    # whatever its figures: held back against it, the new model would leave nothing to serve
    outdated = active is not None and not _servable(active)
    if gate and active is not None and active.id != model.id and not outdated:
        reasons = held_back(active.metrics, model.metrics)
        if judge is not None:  # outside a transaction: scoring starts NLU workers (seconds)
            reasons += await judge(model, active)
    async with db.uow() as session:
        model = await session.get(NluModel, model.id) or model  # with the figures the judge saved
        if reasons:
            nlu_models.hold_back(model, reasons)
            return Trained(model, active or model, trained=False, reasons=reasons)
        if gate:  # it passed: reasons from an earlier verdict no longer hold
            model.gate_reasons = None
        await nlu_models.activate(session, model, datetime.now(timezone.utc))
    return Trained(model, model, trained=False, reasons=[])


class ModelRefused(Exception):
    """A model that cannot be activated; the message says why, `kind` which: "missing" (no such
    model), "deleted" (its file is gone) or "outdated" (trained by a carebot whose model format
    this one cannot serve)."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _servable(model: NluModel) -> bool:
    """Whether this code can serve a registered model. The registry keeps the archive's calibration
    (read when the model was registered): no archive to unpack."""
    return served_format(model.metrics.get("calibration") or {})


async def activate(db: Database, model_id: int) -> NluModel:
    """Activate a registered model by id (a rollback, or a candidate the gate held back);
    every server follows within seconds. Refused when its file is gone."""
    async with db.uow() as session:
        model = await session.get(NluModel, model_id)
        if model is None:
            raise ModelRefused(f"no model with id {model_id} (see `carebot model list`)", kind="missing")
        if not Path(model.path).is_file():
            raise ModelRefused(f"model {model_id} ({model.version}) cannot be activated: its file {model.path} "
                               "was deleted", kind="deleted")
        if not _servable(model):
            raise ModelRefused(f"model {model_id} ({model.version}) cannot be activated: it was trained by an "
                               "older carebot whose models this version cannot serve; train one with `carebot train`",
                               kind="outdated")
        if not model.active:
            await nlu_models.activate(session, model, datetime.now(timezone.utc))
    return model


async def save_figures(db: Database, model: NluModel, metrics: dict) -> None:
    """Replace a registered model's evaluation figures (a held-out evaluation made after training)."""
    async with db.uow() as session:
        await nlu_models.register(session, model.data_hash, model.path, metrics, datetime.now(timezone.utc))


async def train(db: Database, settings: Settings, *, force: bool = False, gate: bool = True, recheck: bool = True,
                judge: Judge | None = None, say=print) -> Trained:
    """Train the model of the current data if its file is missing (or `force`), then register
    and gate it (`judge`: see register_and_activate). A model of these data already registered
    but not active (held back, or rolled back from) is gated again when `recheck`, else left as it is."""
    await load_default_faqs(db, settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    # a directory of this process's own: several servers may start on one home at once
    work = Path(tempfile.mkdtemp(prefix="training-", dir=settings.home))
    try:
        training = await assemble(db, settings, work)
        target = model_file(settings, training.data_hash)
        async with db.sessions() as session:
            known, active = await nlu_models.by_path(session, str(target)), await nlu_models.active(session)
        if not force and target.exists():
            if known is not None and (known.active or (not recheck and active is not None)):
                return Trained(known, active or known, trained=False,
                               reasons=[] if known.active else known.gate_reasons or [])
            say(f"Model for these data already trained: {target.name}")
            # a file this database has not seen (a shared models directory): its figures are in it
            figures = None if known is not None else {"calibration": model_calibration(str(target))}
            return await register_and_activate(db, training.data_hash, target, figures, gate=gate, judge=judge)
        say(f"Training the NLU model ({settings.config_path.name}, data {training.data_hash[:12]}) ...")
        partial = target.with_name(f"partial-{os.getpid()}-{target.name}")
        events = await run_worker(settings, "train", "--data", str(work / "nlu.yml"),
                                  "--config", str(work / "config.yml"), "--out", str(partial))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    partial.replace(target)  # atomic: a crash never leaves a half-written model under the final name
    trained = next((e for e in events if e.get("event") == "trained"), {})
    seconds = trained.get("seconds")
    result = await register_and_activate(db, training.data_hash, target,
                                         {"train_seconds": seconds, "calibration": trained.get("calibration") or {}},
                                         gate=gate, judge=judge)
    say(f"Trained {target.name} in {seconds} s; " + ("held back by the gate." if result.held_back else "active."))
    return replace(result, trained=True)


async def ensure_model(db: Database, settings: Settings, *, force: bool = False, judge: Judge | None = None,
                       say=print) -> tuple[NluModel, bool]:
    """The active model, after training and gating the model of the current data if it is new.

    Returns the model and whether one was trained now. A model of these data that is not
    active stays so: starting a server never undoes a rollback or the gate's verdict.
    """
    result = await train(db, settings, force=force, recheck=False, judge=judge, say=say)
    if result.held_back and result.reasons:
        say(f"The model of the current data ({result.model.version}) is held back: {'; '.join(result.reasons)}. "
            f"Still active: {result.active.version}.")
    return result.active, result.trained


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
