"""The model registry's rows: register a trained model, activate one, hold one back, list them.

Exactly one model is active; activating one retires the others in the same transaction, and
every `carebot serve` process follows the active row (bot.web.app.follow_active_model).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import NluModel


async def active(session: AsyncSession) -> NluModel | None:
    rows = await session.execute(select(NluModel).where(NluModel.active.is_(True)).limit(1))
    return rows.scalar_one_or_none()


async def by_path(session: AsyncSession, path: str) -> NluModel | None:
    return (await session.execute(select(NluModel).where(NluModel.path == path))).scalars().first()


async def every(session: AsyncSession) -> list[NluModel]:
    """All models, newest first."""
    return list((await session.execute(select(NluModel).order_by(NluModel.created_at.desc(), NluModel.id.desc())))
                .scalars())


async def register(session: AsyncSession, data_hash: str, path: str, metrics: dict[str, Any] | None,
                   now: datetime) -> NluModel:
    """The row of the model file at `path`, created if new; `metrics` replace its figures when given."""
    model = await by_path(session, path)
    if model is None:
        try:
            async with session.begin_nested():
                model = NluModel(version=f"{now:%Y%m%d-%H%M%S}-{data_hash[:8]}", data_hash=data_hash,
                                 path=path, metrics=metrics or {}, created_at=now)
                session.add(model)
        except IntegrityError:  # another process registered it in the same second
            model = await by_path(session, path)
            assert model is not None
    if metrics:
        model.metrics = metrics
    return model


async def activate(session: AsyncSession, model: NluModel, now: datetime) -> None:
    """Make `model` the one active model (a candidate stops being one)."""
    await session.execute(update(NluModel).where(NluModel.active.is_(True), NluModel.id != model.id)
                          .values(active=False))
    model.active, model.candidate, model.activated_at = True, False, now


def hold_back(model: NluModel, reasons: list[str]) -> None:
    """Keep `model` as a candidate: the gate found it worse than the active one, for `reasons`."""
    model.candidate, model.gate_reasons = True, reasons


def describe(model: NluModel) -> dict[str, Any]:
    """A model as `carebot model list --json` and the models page show it: its state and its
    evaluation figures (cross-validation at training time, the held-out file and the
    deployment's test set when scored)."""
    calibration = model.metrics.get("calibration") or {}
    return {"id": model.id, "version": model.version, "created": model.created_at.isoformat(),
            "active": model.active, "candidate": model.candidate, "file_present": Path(model.path).is_file(),
            "cv_accuracy": calibration.get("cv_accuracy"), "recall": calibration.get("recall", {}),
            "examples": sum(calibration.get("examples", {}).values()), "holdout": model.metrics.get("holdout"),
            "testset": model.metrics.get("testset"), "train_seconds": model.metrics.get("train_seconds"),
            "gate_reasons": model.gate_reasons or [], "path": model.path}
