"""FAQs on the web: the admins' pages at /admin/faq and the same under /api/v1/faqs.

Over-long answers are checked here, where the channels are known: an answer longer than a
platform's message is refused until the admin confirms the parts it will be sent in
(`allow_split`), because answers go live the moment they are saved.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.channels import registry
from bot.desk import faq_admin
from bot.desk.access import Viewer
from bot.nlu import rasa_yaml
from bot.nlu.freshness import model_out_of_date
from bot.store import faq
from bot.web.auth import api_viewer, now, page_viewer
from bot.web.context import runtime_of
from bot.web.openapi import ApiError, api_route, int_param, json_body

MAX_IMPORT_BYTES = 2 * 1024 * 1024
EXPORT_NAME = "faq.yml"
OVERRIDE_SCHEMA = {"type": "object", "required": ["account"], "properties": {
    "account": {"type": "string", "description": "account slug"},
    "answer": {"type": ["string", "null"], "description": "the account's own answer; null or empty: the default"},
    "enabled": {"type": "boolean", "description": "false: the bot does not answer this FAQ for the account"}}}
FAQ_PROPERTIES = {
    "question": {"type": "string", "maxLength": faq.MAX_QUESTION, "description": "the title question"},
    "examples": {"type": "array", "minItems": 1, "items": {"type": "string", "maxLength": faq.MAX_EXAMPLE}},
    "answer": {"type": "string", "maxLength": faq.MAX_ANSWER},
    "accounts": {"type": "array", "items": OVERRIDE_SCHEMA},
    "allow_split": {"type": "boolean", "description": "save an answer longer than a platform's message (422 without)"}}
CREATE_BODY = {"type": "object", "required": ["name", "question", "examples", "answer"], "properties": {
    "name": {"type": "string", "pattern": faq.NAME.pattern}, **FAQ_PROPERTIES}}
UPDATE_BODY = {"type": "object", "properties": FAQ_PROPERTIES}
FAQ_RESPONSE = "{id, name, question, examples, answer, accounts: [{account, answer, enabled}]}"


async def _refuse_unconfirmed_split(request: web.Request, answer: str | None,
                                    overrides: tuple[faq.Override, ...], allowed: bool) -> None:
    if allowed:
        return
    async with runtime_of(request).db.sessions() as session:
        platforms = {slug: platform for slug, _, platform in (await faq.account_slugs(session)).values()}
    warnings = registry.split_warnings(answer) if answer else []
    for override in overrides:
        if override.answer and override.account in platforms:
            warnings += [{**w, "account": override.account}
                         for w in registry.split_warnings(override.answer, {platforms[override.account]})]
    if warnings:
        raise ApiError(422, "答案超过平台单条消息的上限，会分成几条发送（见 split）；确认后再保存（allow_split: true）",
                       field="answer", split=warnings)


# --- the API -------------------------------------------------------------------------------

def _strings(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(422, f"字段 {field} 必须是字符串数组", field=field)
    return tuple(value)


def _string(body: Mapping[str, Any], field: str, required: bool) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"字段 {field} 必须是字符串", field=field)
    return value


def _overrides(value: Any) -> tuple[faq.Override, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ApiError(422, "字段 accounts 必须是数组", field="accounts")
    result = []
    for item in value:
        if (not isinstance(item, dict) or not isinstance(item.get("account"), str)
                or not isinstance(item.get("answer", None), (str, type(None)))
                or not isinstance(item.get("enabled", True), bool)):
            raise ApiError(422, "accounts 的每一项须为 {account: 账号, answer: 文本或 null, enabled: 布尔}",
                           field="accounts")
        result.append(faq.Override(item["account"], item.get("answer"), item.get("enabled", True)))
    return tuple(result)


def _allow_split(body: Mapping[str, Any]) -> bool:
    value = body.get("allow_split", False)
    if not isinstance(value, bool):
        raise ApiError(422, "字段 allow_split 必须是布尔值", field="allow_split")
    return value


async def _admin(request: web.Request) -> Viewer:
    viewer = api_viewer(request)
    viewer.require_admin()
    return viewer


def _refused(exc: faq.FaqError) -> ApiError:
    return ApiError(422, exc.reason, field=exc.field)


async def api_list(request: web.Request) -> web.Response:
    await _admin(request)
    rt = runtime_of(request)
    found = await faq_admin.listing(rt.db, request.query.get("q", "")[:100])
    return web.json_response({"faqs": found, "model_out_of_date": await model_out_of_date(rt.db, rt.settings)})


async def api_get(request: web.Request) -> web.Response:
    await _admin(request)
    return web.json_response(await faq_admin.one(runtime_of(request).db, int_param(request.match_info["id"], "id")))


async def api_create(request: web.Request) -> web.Response:
    viewer = await _admin(request)
    body = await json_body(request)
    record = faq.FaqRecord(_string(body, "name", True) or "", _string(body, "question", True) or "",
                           _strings(body.get("examples"), "examples"), _string(body, "answer", True) or "")
    overrides = _overrides(body.get("accounts"))
    await _refuse_unconfirmed_split(request, record.answer, overrides, _allow_split(body))
    try:
        created = await faq_admin.create(runtime_of(request).db, actor=viewer.username, record=record,
                                         overrides=overrides, now=now())
    except faq.FaqError as exc:
        raise _refused(exc) from None
    return web.json_response(created, status=201)


async def api_update(request: web.Request) -> web.Response:
    viewer = await _admin(request)
    intent_id = int_param(request.match_info["id"], "id")
    body = await json_body(request)
    examples = body.get("examples")
    changes = faq_admin.Changes(question=_string(body, "question", False),
                                examples=None if examples is None else _strings(examples, "examples"),
                                answer=_string(body, "answer", False), overrides=_overrides(body.get("accounts")))
    await _refuse_unconfirmed_split(request, changes.answer, changes.overrides, _allow_split(body))
    try:
        updated = await faq_admin.update(runtime_of(request).db, actor=viewer.username, intent_id=intent_id,
                                         changes=changes, now=now())
    except faq.FaqError as exc:
        raise _refused(exc) from None
    return web.json_response(updated)


async def api_delete(request: web.Request) -> web.Response:
    viewer = await _admin(request)
    await faq_admin.delete(runtime_of(request).db, actor=viewer.username,
                           intent_id=int_param(request.match_info["id"], "id"), now=now())
    return web.Response(status=204)


async def api_import(request: web.Request) -> web.Response:
    """The body is the Rasa YAML file itself (the page sends the chosen file as it is)."""
    viewer = await _admin(request)
    data = await request.content.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise ApiError(413, f"文件超过 {MAX_IMPORT_BYTES // 1024 // 1024} MB")
    name = request.query.get("filename", "")[:100] or "upload.yml"
    try:
        records = rasa_yaml.parse_faq(data, name)
    except rasa_yaml.TrainingFileError as exc:
        raise ApiError(422, f"{name} 第 {exc.line} 行：{exc.reason}（未做任何修改）", line=exc.line) from None
    replace = request.query.get("replace", "") in ("1", "true", "on")
    try:
        counts = await faq_admin.import_records(runtime_of(request).db, actor=viewer.username, records=records,
                                                replace=replace, source=name, now=now())
    except faq.FaqError as exc:
        raise ApiError(422, f"{name}：{exc.reason}（未做任何修改）", field=exc.field) from None
    # imported as they are (the file is the admin's decision), but shown: they go live at once
    split = [{"name": r.name, **w} for r in records for w in registry.split_warnings(r.answer.strip())]
    return web.json_response({**counts, "split": split})


def _export_response(records: list[faq.FaqRecord]) -> web.Response:
    return web.Response(text=rasa_yaml.render_faq(records), content_type="application/x-yaml", headers={
        "Content-Disposition": f'attachment; filename="{EXPORT_NAME}"'})


async def api_export(request: web.Request) -> web.Response:
    await _admin(request)
    return _export_response(await faq_admin.export_records(runtime_of(request).db))


# --- the pages -----------------------------------------------------------------------------

async def _accounts(request: web.Request) -> list[tuple[str, str, str]]:
    async with runtime_of(request).db.sessions() as session:
        return list((await faq.account_slugs(session)).values())


async def list_page(request: web.Request) -> web.StreamResponse:
    page_viewer(request).require_admin()
    query = request.query.get("q", "")[:100]
    return aiohttp_jinja2.render_template("faq_admin.html", request, {
        "nav": "faq", "faqs": await faq_admin.listing(runtime_of(request).db, query), "q": query,
        "max_import_mb": MAX_IMPORT_BYTES // 1024 // 1024})


async def _edit_page(request: web.Request, item: dict[str, Any], error: str = "", split: list | None = None,
                     status: int = 200) -> web.StreamResponse:
    accounts = await _accounts(request)
    own = {o["account"]: o for o in item.get("accounts", [])}
    return aiohttp_jinja2.render_template("faq_edit.html", request, {
        "nav": "faq", "item": item, "error": error, "split": split or [], "saved": "saved" in request.query,
        "accounts": [{"slug": slug, "name": name, "answer": (own.get(slug) or {}).get("answer") or "",
                      "enabled": (own.get(slug) or {}).get("enabled", True)} for slug, name, _ in accounts]},
        status=status)


def _form_item(form: Mapping[str, Any], slugs: list[str]) -> dict[str, Any]:
    """The edit form as the API's shape of an FAQ (examples: one per line)."""
    def text(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""
    return {"name": text("name").strip(), "question": text("question"),
            "examples": [line.strip() for line in text("examples").splitlines() if line.strip()],
            "answer": text("answer"),
            "accounts": [{"account": slug, "answer": text(f"answer@{slug}").strip() or None,
                          "enabled": f"enabled@{slug}" in form} for slug in slugs]}


async def new_page(request: web.Request) -> web.StreamResponse:
    page_viewer(request).require_admin()
    return await _edit_page(request, {"id": None, "name": "faq/", "question": "", "examples": [], "answer": ""})


async def edit_page(request: web.Request) -> web.StreamResponse:
    page_viewer(request).require_admin()
    return await _edit_page(request, await faq_admin.one(runtime_of(request).db,
                                                         int_param(request.match_info["id"], "id")))


async def submit(request: web.Request) -> web.StreamResponse:
    """New (no id) or edited FAQ, or its deletion."""
    viewer = page_viewer(request)
    viewer.require_admin()
    db = runtime_of(request).db
    intent_id = int_param(request.match_info["id"], "id") if "id" in request.match_info else None
    form = await request.post()
    if intent_id is not None and form.get("action") == "delete":
        await faq_admin.delete(db, actor=viewer.username, intent_id=intent_id, now=now())
        raise web.HTTPSeeOther("/admin/faq")
    item = {**_form_item(form, [slug for slug, _, _ in await _accounts(request)]), "id": intent_id}
    overrides = tuple(faq.Override(o["account"], o["answer"], o["enabled"]) for o in item["accounts"])
    try:
        await _refuse_unconfirmed_split(request, item["answer"], overrides, "allow_split" in form)
        if intent_id is None:
            saved = await faq_admin.create(db, actor=viewer.username, now=now(), overrides=overrides, record=faq.FaqRecord(
                item["name"], item["question"], tuple(item["examples"]), item["answer"]))
        else:
            saved = await faq_admin.update(db, actor=viewer.username, intent_id=intent_id, now=now(),
                                           changes=faq_admin.Changes(item["question"], tuple(item["examples"]),
                                                                     item["answer"], overrides))
    except ApiError as exc:
        return await _edit_page(request, item, exc.reason, exc.extra.get("split"), status=exc.status)
    except faq.FaqError as exc:
        return await _edit_page(request, item, exc.reason, status=422)
    raise web.HTTPSeeOther(f"/admin/faq/{saved['id']}?saved=1")


async def export_page(request: web.Request) -> web.StreamResponse:
    page_viewer(request).require_admin()
    return _export_response(await faq_admin.export_records(runtime_of(request).db))


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/admin/faq", list_page)
    app.router.add_get("/admin/faq/export", export_page)
    app.router.add_get("/admin/faq/new", new_page)
    app.router.add_post("/admin/faq/new", submit)
    app.router.add_get("/admin/faq/{id}", edit_page)
    app.router.add_post("/admin/faq/{id}", submit)
    api_route(app, "GET", "/faqs", api_list, tag="faq", query={"q": "words in the name, title, examples or answers"},
              summary="List and search FAQs (admins)",
              responses={200: f"{{faqs: [{FAQ_RESPONSE}], model_out_of_date: bool}}"})
    api_route(app, "POST", "/faqs", api_create, tag="faq", body=CREATE_BODY, summary="Create an FAQ (admins)",
              responses={201: FAQ_RESPONSE, 400: "not JSON",
                         422: "invalid input ({error, field}); an answer too long for a platform's message without "
                              "allow_split also gets split: [{platform, label, limit, parts}]"})
    api_route(app, "GET", "/faqs/export", api_export, tag="faq", summary="Export the FAQs as Rasa YAML (admins)",
              responses={200: "application/x-yaml, as `carebot faq export`"})
    api_route(app, "POST", "/faqs/import", api_import, tag="faq",
              query={"replace": "1: drop FAQs missing from the file", "filename": "shown in errors"},
              summary="Import FAQs from a Rasa YAML request body, as `carebot faq import` (admins)",
              responses={200: "{added, updated, removed, split: [{name, platform, label, limit, parts}]: the answers "
                              "too long for a platform's message, imported, and how they will be sent}",
                         413: "file too large",
                         422: "a broken file: {error, line}, or an invalid FAQ (no examples, a title question "
                              "another FAQ has, ...): {error, field}; nothing changed"})
    api_route(app, "GET", "/faqs/{id}", api_get, tag="faq", summary="One FAQ (admins)", responses={200: FAQ_RESPONSE})
    api_route(app, "PATCH", "/faqs/{id}", api_update, tag="faq", body=UPDATE_BODY,
              summary="Change an FAQ's title, examples, answer or accounts' versions (admins); the name stays",
              responses={200: FAQ_RESPONSE, 400: "not JSON", 422: "invalid input, as for POST"})
    api_route(app, "DELETE", "/faqs/{id}", api_delete, tag="faq", summary="Delete an FAQ (admins)",
              responses={204: "deleted"})
