"""Training: assemble the data, train in `.venv-nlu` only when it changed, register, activate.

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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.nlu import rasa_yaml
from bot.nlu.names import to_rasa
from bot.nlu.normalize import normalise
from bot.nlu.pool import NluUnavailable, worker_command
from bot.settings import PROJECT_ROOT, Settings
from bot.store import faq
from bot.store.db import Database
from bot.store.models import NluModel

CONVERSATION_FILE = "conversation.yml"
DEFAULT_FAQ_FILE = "faq.yml"
_MODEL_CODE = ("bot/nlu/classifier.py", "bot/nlu/tone.py", "bot/nlu/persisted.py", "bot/nlu/normalize.py",
               "bot/nlu/names.py")
# pipeline options naming files of nlu_data/, made absolute for the worker and hashed with the data
_DATA_FILE_OPTIONS = ("dictionary_path", "exclusions")


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


async def assemble(db: Database, settings: Settings, directory: Path) -> TrainingSet:
    """Write nlu.yml and config.yml for Rasa into `directory`; return them with their hash."""
    async with db.sessions() as session:
        records = await faq.records(session)
    conversation, _ = rasa_yaml.read(settings.nlu_data_dir / CONVERSATION_FILE)
    # the title question an admin wrote is an example too: with 3-5 examples every phrasing counts
    blocks = [rasa_yaml.IntentBlock(to_rasa(r.name), (r.question, *r.examples)) for r in records]
    blocks += [b for b in conversation if not b.name.startswith("faq/")]
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
    directory.mkdir(parents=True, exist_ok=True)
    nlu_text = rasa_yaml.render(normalised_blocks, {})
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
        rows = await session.execute(select(NluModel).where(NluModel.active.is_(True)).limit(1))
        return rows.scalar_one_or_none()


async def register_and_activate(db: Database, data_hash: str, path: Path,
                                metrics: dict | None = None) -> NluModel:
    now = datetime.now(timezone.utc)
    async with db.uow() as session:
        model = (await session.execute(select(NluModel).where(NluModel.path == str(path)))).scalars().first()
        if model is None:
            try:
                async with session.begin_nested():
                    model = NluModel(version=f"{now:%Y%m%d-%H%M%S}-{data_hash[:8]}", data_hash=data_hash,
                                     path=str(path), metrics=metrics or {}, created_at=now)
                    session.add(model)
            except IntegrityError:  # another process registered it in the same second
                model = (await session.execute(select(NluModel).where(NluModel.path == str(path)))).scalars().first()
                assert model is not None
        if metrics:
            model.metrics = metrics
        await session.execute(update(NluModel).where(NluModel.active.is_(True)).values(active=False))
        model.active = True
        model.activated_at = now
    return model


async def ensure_model(db: Database, settings: Settings, *, force: bool = False,
                       say=print) -> tuple[NluModel, bool]:
    """The active model for the current data, training it first if needed.

    Returns the model and whether it was trained now.
    """
    await load_default_faqs(db, settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    # a directory of this process's own: several servers may start on one home at once
    work = Path(tempfile.mkdtemp(prefix="training-", dir=settings.home))
    try:
        training = await assemble(db, settings, work)
        target = model_file(settings, training.data_hash)
        active = await active_model(db)
        if not force and target.exists():
            if active is not None and active.path == str(target):
                return active, False
            say(f"Model for these data already trained: {target.name}")
            return await register_and_activate(db, training.data_hash, target), False
        say(f"Training the NLU model ({settings.config_path.name}, data {training.data_hash[:12]}) ...")
        partial = target.with_name(f"partial-{os.getpid()}-{target.name}")
        events = await run_worker(settings, "train", "--data", str(work / "nlu.yml"),
                                  "--config", str(work / "config.yml"), "--out", str(partial))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    partial.replace(target)  # atomic: a crash never leaves a half-written model under the final name
    trained = next((e for e in events if e.get("event") == "trained"), {})
    seconds = trained.get("seconds")
    model = await register_and_activate(db, training.data_hash, target,
                                        {"train_seconds": seconds, "calibration": trained.get("calibration") or {}})
    say(f"Trained {target.name} in {seconds} s; active.")
    return model, True


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
