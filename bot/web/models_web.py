"""The models page (/admin/models) and its API: every model with its evaluation, the gate's
verdict, activation and rollback in one click, training as a background job with live
progress, and the deployment's own labelled test set.

Admins only (403 for other agents). Training runs as a task of this server (the Rasa work in
the NLU environment's own process, so the event loop keeps answering customers) and takes
the database's training lock, so a second training, from any server or `carebot train`, is
refused with a message saying which one is running. The page polls the job's progress.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from bot.conversation import retraining
from bot.desk.access import Viewer
from bot.nlu.training import ModelRefused, activate
from bot.runtime import Runtime
from bot.store import audit, nlu_models, test_set, training_jobs
from bot.store.models import NluModel, TrainingJob
from bot.web.auth import api_viewer, now, page_viewer
from bot.web.context import runtime_of
from bot.web.openapi import ApiError, api_route, int_param, json_body

log = logging.getLogger(__name__)
TRAININGS = web.AppKey("carebot_trainings", set)
TRAIN_BODY = {"type": "object", "properties": {
    "force": {"type": "boolean", "description": "train even if a model of these data exists"}}}
TESTSET_BODY = {"type": "object", "required": ["lines"], "properties": {
    "lines": {"type": "string", "description": "intent<TAB>text lines"}}}


def _admin_api(request: web.Request) -> Viewer:
    viewer = api_viewer(request)
    viewer.require_admin()
    return viewer


def _admin_page(request: web.Request) -> Viewer:
    viewer = page_viewer(request)
    viewer.require_admin()
    return viewer


async def start_training(request: web.Request, viewer: Viewer, force: bool = False) -> int:
    """Take the lock for a new job and train in the background; 409 when one is running."""
    rt = runtime_of(request)
    try:
        job_id = await retraining.begin(rt.db, actor=viewer.username)
    except training_jobs.Busy as exc:
        started = exc.started_at.astimezone(ZoneInfo(rt.settings.timezone))
        raise ApiError(409, f"已有训练在进行中（任务 {exc.job_id}，{exc.actor} 于 {started:%H:%M:%S} 开始），"
                            "请等它结束后再试", job=exc.job_id) from None
    async with rt.db.uow() as session:
        await audit.record(session, viewer.username, "model.train", "training_job", job_id, now=now(),
                           after={"force": force})
    task = asyncio.create_task(_train(rt, job_id, force))
    request.app[TRAININGS].add(task)
    task.add_done_callback(request.app[TRAININGS].discard)
    return job_id


async def _train(rt: Runtime, job_id: int, force: bool) -> None:
    try:
        await retraining.run(rt.db, rt.settings, job_id, force=force)
    except Exception:  # recorded on the job (state failed, the error); the server carries on
        log.exception("training job %s failed", job_id)


async def activate_model(request: web.Request, viewer: Viewer, model_id: int) -> NluModel:
    """Activate a model (rollback, or a candidate the gate held back); every server follows."""
    db = runtime_of(request).db
    async with db.sessions() as session:
        before = await nlu_models.active(session)
    try:
        model = await activate(db, model_id)
    except ModelRefused as exc:
        if exc.kind == "missing":
            raise ApiError(404, f"模型 {model_id} 不存在") from None
        if exc.kind == "outdated":
            raise ApiError(409, f"模型 {model_id} 由旧版 carebot 训练，当前版本无法使用，请重新训练（当前模型不变）") from None
        raise ApiError(409, f"模型 {model_id} 的文件已被删除，无法启用（当前模型不变）") from None
    async with db.uow() as session:
        await audit.record(session, viewer.username, "model.activate", "nlu_model", model.id, now=now(),
                           before={"active": before.id if before else None}, after={"active": model.id})
    return model


async def add_examples(request: web.Request, viewer: Viewer, lines: Any) -> int:
    if not isinstance(lines, str):
        raise ApiError(422, "lines 必须是文本：每行“意图<TAB>消息”")
    try:
        pairs = test_set.parse_lines(lines)
    except test_set.TestSetError as exc:
        raise ApiError(422, f"{exc}（未添加任何一行）") from None
    async with runtime_of(request).db.uow() as session:
        added = await test_set.add(session, pairs, viewer.username, now())
        await audit.record(session, viewer.username, "testset.add", "nlu_test_set", None, now=now(),
                           after={"lines": len(pairs), "new": added})
    return added


async def remove_example(request: web.Request, viewer: Viewer, example_id: int) -> None:
    async with runtime_of(request).db.uow() as session:
        if not await test_set.remove(session, example_id):
            raise ApiError(404, "测试集中没有这一条")
        await audit.record(session, viewer.username, "testset.remove", "nlu_test_set", example_id, now=now())


async def _state(request: web.Request) -> dict[str, Any]:
    async with runtime_of(request).db.sessions() as session:
        models = [nlu_models.describe(m) for m in await nlu_models.every(session)]
        job = await training_jobs.latest(session)
        examples = await test_set.every(session)
    return {"models": models, "training": training_jobs.as_json(job) if job else None,
            "testset": [{"id": e.id, "intent": e.intent, "text": e.text} for e in examples],
            "testset_id": test_set.fingerprint(examples) if examples else None}


# -- API ---------------------------------------------------------------------------------------

async def api_models(request: web.Request) -> web.Response:
    _admin_api(request)
    return web.json_response(await _state(request))


async def api_activate(request: web.Request) -> web.Response:
    viewer = _admin_api(request)
    model = await activate_model(request, viewer, int_param(request.match_info["id"], "id"))
    async with runtime_of(request).db.sessions() as session:
        fresh = await session.get(NluModel, model.id)
    return web.json_response(nlu_models.describe(fresh or model))


async def api_train(request: web.Request) -> web.Response:
    viewer = _admin_api(request)
    body = await json_body(request) if request.can_read_body else {}
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise ApiError(422, "force 必须是 true 或 false")
    job_id = await start_training(request, viewer, force)
    return web.json_response({"job": job_id}, status=202)


async def api_training(request: web.Request) -> web.Response:
    _admin_api(request)
    job_id = int_param(request.match_info["id"], "id")
    async with runtime_of(request).db.sessions() as session:
        job = await session.get(TrainingJob, job_id)
    if job is None:
        raise ApiError(404, f"训练任务 {job_id} 不存在")
    return web.json_response(training_jobs.as_json(job))


async def api_testset_add(request: web.Request) -> web.Response:
    viewer = _admin_api(request)
    added = await add_examples(request, viewer, (await json_body(request)).get("lines"))
    return web.json_response({"added": added}, status=201)


async def api_testset_remove(request: web.Request) -> web.Response:
    viewer = _admin_api(request)
    await remove_example(request, viewer, int_param(request.match_info["id"], "id"))
    return web.Response(status=204)


# -- page --------------------------------------------------------------------------------------

async def _render(request: web.Request, error: str = "", status: int = 200, lines: str = "") -> web.Response:
    return aiohttp_jinja2.render_template("models_admin.html", request, {
        "nav": "models", "error": error, "lines": lines, **await _state(request)}, status=status)


async def page(request: web.Request) -> web.StreamResponse:
    _admin_page(request)
    return await _render(request)


async def page_submit(request: web.Request) -> web.StreamResponse:
    viewer = _admin_page(request)
    form = await request.post()
    action = form.get("action")
    try:
        if action == "train":
            await start_training(request, viewer)
        elif action == "activate":
            await activate_model(request, viewer, int_param(str(form.get("id", "")), "id"))
        elif action == "add-examples":
            await add_examples(request, viewer, form.get("lines"))
        elif action == "remove-example":
            await remove_example(request, viewer, int_param(str(form.get("id", "")), "id"))
        else:
            raise ApiError(400, "未知操作")
    except ApiError as exc:
        return await _render(request, exc.reason, exc.status, str(form.get("lines", "")))
    raise web.HTTPSeeOther("/admin/models")


async def _stop_trainings(app: web.Application) -> AsyncIterator[None]:
    app[TRAININGS] = set()
    yield
    for task in list(app[TRAININGS]):  # recorded as failed, the lock released
        task.cancel()
    await asyncio.gather(*app[TRAININGS], return_exceptions=True)


def setup_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(_stop_trainings)
    app.router.add_get("/admin/models", page)
    app.router.add_post("/admin/models", page_submit)
    api_route(app, "GET", "/models", api_models, tag="models",
              summary="Every model with its evaluation and state, the latest training job, the test set (admins)",
              responses={200: "{models: [...], training: job or null, testset: [{id, intent, text}], testset_id}"})
    api_route(app, "POST", "/models/{id}/activate", api_activate, tag="models",
              summary="Activate a model: a rollback, or a candidate the gate held back (admins)",
              responses={200: "the model", 404: "no such model", 409: "its file was deleted"})
    api_route(app, "POST", "/models/train", api_train, tag="models", body=TRAIN_BODY,
              summary="Start a training in the background; the gate decides whether it is activated (admins)",
              responses={202: "{job}", 409: "a training is running already (`job` names it)"})
    api_route(app, "GET", "/models/training/{id}", api_training, tag="models",
              summary="A training job: state (running, activated, held_back, failed), progress lines, verdict",
              responses={200: "{id, actor, state, log: [lines], model_id, reasons, error, started, finished}"})
    api_route(app, "POST", "/models/testset", api_testset_add, tag="models", body=TESTSET_BODY,
              summary="Add labelled messages to the deployment's test set (admins)",
              responses={201: "{added}", 422: "a bad line (nothing added)"})
    api_route(app, "DELETE", "/models/testset/{id}", api_testset_remove, tag="models",
              summary="Remove a labelled message from the test set (admins)", responses={204: "removed"})
