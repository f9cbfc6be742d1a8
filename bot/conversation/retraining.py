"""Training as a job: one at a time across processes, its progress recorded as it comes, and
each new model scored on the deployment's own test set.

`carebot train` and the models page (a background task of the server) both run trainings
through here, so the lock (bot.store.training_jobs) covers both and the page shows either's
progress. Training itself runs in the NLU environment's own process (bot.nlu.training), so a
server's event loop keeps answering while it trains. The deployment's test set, when it keeps
one, is scored through the policy, as customers would be answered: shown with each model, and
part of the gate (`judge_on_test_set`): a candidate that does worse on it than the active model
stays a candidate, as on cross-validation.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.conversation.evaluation import parse_all, score
from bot.nlu.gate import held_back_on_test_set
from bot.nlu.normalize import normalise
from bot.nlu.pool import NluPool
from bot.nlu.training import Judge, Trained, save_figures, train
from bot.settings import Settings
from bot.store import test_set, training_jobs
from bot.store.db import Database
from bot.store.models import NluModel

HEARTBEAT = 2.0  # seconds between lock renewals (and progress flushes); the lock goes stale after 60
TICK = 15.0  # seconds between "still training" lines, so a watcher sees the job is alive


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def begin(db: Database, actor: str) -> int:
    """Take the training lock for a new job of `actor`; training_jobs.Busy if one is running."""
    async with db.uow() as session:
        job = await training_jobs.start(session, actor, f"{socket.gethostname()}:{os.getpid()}", _now())
    return job.id


class _Progress:
    """The job's `say`: lines kept for the next heartbeat (and echoed, for a terminal)."""

    def __init__(self, echo: Callable[[str], None] | None) -> None:
        self.pending: list[str] = []
        self.echo = echo

    def __call__(self, line: str) -> None:
        self.pending.append(f"{_now():%H:%M:%S} {line}")
        if self.echo is not None:
            self.echo(line)

    def take(self) -> list[str]:
        lines, self.pending = self.pending, []
        return lines


async def _keep_alive(db: Database, job_id: int, progress: _Progress) -> None:
    loop = asyncio.get_running_loop()
    started = last_tick = loop.time()
    while True:
        await asyncio.sleep(HEARTBEAT)
        if loop.time() - last_tick >= TICK:
            last_tick = loop.time()
            progress.pending.append(f"{_now():%H:%M:%S} still working: {int(last_tick - started)} s")
        async with db.uow() as session:
            await training_jobs.heartbeat(session, job_id, progress.take(), _now())


async def run(db: Database, settings: Settings, job_id: int, *, force: bool = False, gate: bool = True,
              echo: Callable[[str], None] | None = None) -> Trained:
    """Train (bot.nlu.training.train: the gate decides, on cross-validation and the test set),
    record the verdict and release the lock; a failure is recorded (and raised) too."""
    progress = _Progress(echo)
    beat = asyncio.create_task(_keep_alive(db, job_id, progress))
    try:
        result = await train(db, settings, force=force, gate=gate, judge=judge_on_test_set(db, settings, progress),
                             say=progress)
        await score_test_set(db, settings, result.model, progress)  # a model the gate did not contest
    except BaseException as exc:  # also a cancelled task (the server stopping): never left "running"
        await _end(beat, db, job_id, progress, "failed", error=str(exc) or type(exc).__name__)
        raise
    if not result.trained:
        progress(f"nothing new to train: model {result.model.id} ({result.model.version}) is of these data")
    if result.held_back:
        progress(f"held back by the gate: model {result.model.id} stays a candidate")
    await _end(beat, db, job_id, progress, "held_back" if result.held_back else "activated",
               model_id=result.model.id, reasons=result.reasons)
    return result


async def _end(beat: asyncio.Task, db: Database, job_id: int, progress: _Progress, state: str,
               **verdict: Any) -> None:
    beat.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await beat
    async with db.uow() as session:
        await training_jobs.heartbeat(session, job_id, progress.take(), _now())
        await training_jobs.finish(session, job_id, state, _now(), **verdict)


async def score_test_set(db: Database, settings: Settings, model: NluModel,
                         say: Callable[[str], None]) -> dict | None:
    """The model's figures on the deployment's test set, measured once per model and set."""
    async with db.sessions() as session:
        rows = await test_set.every(session)
    if not rows:
        return None
    mark = test_set.fingerprint(rows)
    known = model.metrics.get("testset") or {}
    if known.get("set") == mark:
        return known
    say(f"scoring model {model.id} on the deployment's test set ({len(rows)} messages) ...")
    pool = NluPool(settings)
    await pool.start(model.path)
    try:
        prepare = lambda text: normalise(text, settings.nlu_max_chars)  # noqa: E731  (as Conversation.prepare)
        parses = await parse_all(prepare, pool.parse, [r.text for r in rows])
    finally:
        await pool.close()
    report = score([r.intent for r in rows], [prepare(r.text) for r in rows], parses, settings)
    figures = {**report.summary(), "set": mark, "complaints": sum(r.intent == "complain" for r in rows),
               "wrong": [[want, got, text] for want, got, text in report.pairs if want != got][:50]}
    await save_figures(db, model, {**model.metrics, "testset": figures})
    say(f"test set: {figures['accuracy']:.1%} of {figures['examples']} messages acted on as labelled")
    return figures


def judge_on_test_set(db: Database, settings: Settings, say: Callable[[str], None]) -> Judge:
    """The gate's second opinion (bot.nlu.training.Judge): both models scored on the
    deployment's test set (the active one again only when the set changed since it was)."""
    async def judge(candidate: NluModel, active: NluModel) -> list[str]:
        after = await score_test_set(db, settings, candidate, say)
        if after is None:
            return []  # the deployment keeps no test set
        if not Path(active.path).is_file():
            say(f"the active model's file {active.path} is gone: the test set cannot compare the two")
            return []
        return held_back_on_test_set(await score_test_set(db, settings, active, say), after)
    return judge
