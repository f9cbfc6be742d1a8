"""Training jobs and the lock that makes trainings take turns across processes.

The lock is one row (`training_lock`, id 1) taken with a conditional UPDATE, which both
databases serialise: free, or held by a job whose process stopped renewing its heartbeat
for STALE (it died: a lock must not outlive its process and block trainings forever).
The job that took over marks the abandoned one failed.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import TrainingJob, TrainingLock

LOCK_ID = 1
STALE = timedelta(seconds=60)  # a holder renews its heartbeat every few seconds
MAX_LOG_LINES = 300
ABANDONED = "the process running this training stopped (no heartbeat for 60 s)"


class Busy(Exception):
    """Another training holds the lock: which job, whose, since when (values: the session
    that saw it is rolled back)."""

    def __init__(self, job: TrainingJob) -> None:
        self.job_id, self.actor, self.started_at = job.id, job.actor, job.started_at
        super().__init__(f"training {job.id} is running (started by {job.actor} at {job.started_at:%Y-%m-%d %H:%M:%S} UTC)")


async def start(session: AsyncSession, actor: str, holder: str, now: datetime) -> TrainingJob:
    """A new running job holding the lock; Busy (and nothing written, once the caller's unit of
    work rolls back) when a live training holds it."""
    lock = await session.get(TrainingLock, LOCK_ID, with_for_update=True)
    assert lock is not None, "migration 0007 creates the lock row"
    previous = lock.job_id
    job = TrainingJob(actor=actor, state="running", log="", started_at=now)
    session.add(job)
    await session.flush()
    same_holder = TrainingLock.job_id.is_(None) if previous is None else TrainingLock.job_id == previous
    taken = await session.execute(
        update(TrainingLock).where(TrainingLock.id == LOCK_ID, same_holder,
                                   or_(TrainingLock.job_id.is_(None), TrainingLock.heartbeat_at < now - STALE))
        .values(job_id=job.id, holder=holder, heartbeat_at=now).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        running = await session.get(TrainingJob, previous) if previous is not None else None
        raise Busy(running or job)
    if previous is not None:
        await session.execute(update(TrainingJob).where(TrainingJob.id == previous, TrainingJob.state == "running")
                              .values(state="failed", error=ABANDONED, finished_at=now))
    return job


async def heartbeat(session: AsyncSession, job_id: int, lines: list[str], now: datetime) -> bool:
    """Renew the lock of `job_id` and append progress `lines` to its log; whether it still holds it."""
    renewed = await session.execute(update(TrainingLock).where(TrainingLock.id == LOCK_ID,
                                                               TrainingLock.job_id == job_id)
                                    .values(heartbeat_at=now).execution_options(synchronize_session=False))
    if lines:
        job = await session.get(TrainingJob, job_id)
        if job is not None:
            job.log = "\n".join([*job.log.splitlines(), *lines][-MAX_LOG_LINES:])
    return renewed.rowcount == 1


async def finish(session: AsyncSession, job_id: int, state: str, now: datetime, *, model_id: int | None = None,
                 reasons: list[str] | None = None, error: str | None = None) -> None:
    """Record the verdict and release the lock (if this job still holds it)."""
    await session.execute(update(TrainingJob).where(TrainingJob.id == job_id).values(
        state=state, model_id=model_id, reasons=reasons, error=error, finished_at=now))
    await session.execute(update(TrainingLock).where(TrainingLock.id == LOCK_ID, TrainingLock.job_id == job_id)
                          .values(job_id=None, holder=None, heartbeat_at=None))


async def latest(session: AsyncSession) -> TrainingJob | None:
    return (await session.execute(select(TrainingJob).order_by(TrainingJob.id.desc()).limit(1))).scalar()


def as_json(job: TrainingJob) -> dict[str, Any]:
    return {"id": job.id, "actor": job.actor, "state": job.state, "log": job.log.splitlines(),
            "model_id": job.model_id, "reasons": job.reasons or [], "error": job.error,
            "started": job.started_at.isoformat(), "finished": job.finished_at.isoformat() if job.finished_at else None}
