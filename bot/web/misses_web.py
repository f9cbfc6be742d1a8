"""What the bot missed on the web: the admins' review page, its API, and the agents' flag on a
bot reply ("机器人答错了" on the thread page)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.desk import misses
from bot.desk.access import Viewer
from bot.web.auth import api_viewer, now, page_viewer
from bot.web.context import runtime_of
from bot.web.openapi import ApiError, api_route, int_param, json_body

PAGE = "/admin/misses"
PAGE_GROUPS = 200
# conversation intents as admins read them (FAQs show their title question)
INTENT_LABELS = {"out_of_scope": "超出范围（婉拒）", "complain": "投诉", "praise": "表扬", "greet": "问候",
                 "goodbye": "告别", "thanks": "感谢", "bot_challenge": "问是不是机器人", "request_human": "要求人工",
                 "ticket_status": "查询工单进度"}
KINDS = {"clarify": "追问选项", "decline": "婉拒", "bot_failed": "多次未懂转人工", "flagged": "客服标记答错"}
LABEL_BODY = {"type": "object", "properties": {
    "intent": {"type": "string", "description": "an FAQ (faq/...) or a conversation intent (out_of_scope, complain, ...)"},
    "faq": {"type": "object", "description": "instead of intent: a new FAQ", "required": ["title", "answer"],
            "properties": {"title": {"type": "string"}, "answer": {"type": "string"}, "name": {"type": "string"}}},
    "also": {"type": "array", "items": {"type": "integer"}, "description": "more miss ids labelled alike"}}}


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def _ids(miss_id: int, also: Any) -> list[int]:
    """The miss and the others of its group the admin included."""
    extra = also if isinstance(also, list) else []
    return [miss_id, *(int_param(str(value), "also") for value in extra)]


async def _label(request: web.Request, viewer: Viewer, ids: list[int], fields: Mapping[str, Any]) -> None:
    viewer.require_admin()
    rt = runtime_of(request)
    new_faq = fields.get("faq")
    if isinstance(new_faq, Mapping):
        await misses.label(rt.db, rt.settings, ids, "", actor=viewer.username, now=now(),
                           new_faq=misses.NewFaq(_text(new_faq, "title"), _text(new_faq, "answer"),
                                                 _text(new_faq, "name")))
    else:
        await misses.label(rt.db, rt.settings, ids, _text(fields, "intent"), actor=viewer.username, now=now())


async def api_list(request: web.Request) -> web.Response:
    api_viewer(request).require_admin()
    limit = int_param(request.query.get("limit", "50"), "limit")
    db = runtime_of(request).db
    groups = await misses.open_groups(db, limit)
    return web.json_response({"open": await misses.open_count(db), "misses": [g.as_json() for g in groups]})


async def api_label(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    viewer.require_admin()
    body = await json_body(request)
    try:
        await _label(request, viewer, _ids(int_param(request.match_info["id"], "id"), body.get("also")), body)
    except misses.MissRefused as exc:
        raise ApiError(422, exc.reason) from None
    return web.Response(status=204)


async def api_dismiss(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    viewer.require_admin()
    try:
        await misses.dismiss(runtime_of(request).db, [int_param(request.match_info["id"], "id")],
                             actor=viewer.username, now=now())
    except misses.MissRefused as exc:
        raise ApiError(422, exc.reason) from None
    return web.Response(status=204)


async def api_flag(request: web.Request) -> web.Response:
    """Any agent who sees the thread may flag a bot reply."""
    viewer = api_viewer(request)
    rt = runtime_of(request)
    try:
        miss = await misses.flag(rt.db, rt.settings, viewer, int_param(request.match_info["id"], "id"), now())
    except misses.MissRefused as exc:
        raise ApiError(422, exc.reason) from None
    return web.json_response({"miss_id": miss.id}, status=201)


async def _render(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    rt = runtime_of(request)
    return aiohttp_jinja2.render_template("misses_admin.html", request, {
        "nav": "misses", "groups": await misses.open_groups(rt.db, PAGE_GROUPS),
        "intents": await misses.intents(rt.db, rt.settings), "intent_labels": INTENT_LABELS, "kinds": KINDS,
        "error": error}, status=status)


async def admin_page(request: web.Request) -> web.StreamResponse:
    page_viewer(request).require_admin()
    return await _render(request)


async def admin_submit(request: web.Request) -> web.StreamResponse:
    viewer = page_viewer(request)
    viewer.require_admin()
    form = await request.post()
    try:
        ids = _ids(int_param(_text(form, "id"), "id"), form.getall("also", []))
        if form.get("op") == "dismiss":
            await misses.dismiss(runtime_of(request).db, ids, actor=viewer.username, now=now())
        elif form.get("op") == "new_faq":
            await _label(request, viewer, ids, {"faq": {name: _text(form, name) for name in ("title", "answer", "name")}})
        else:
            await _label(request, viewer, ids, form)
    except (misses.MissRefused, ApiError) as exc:
        return await _render(request, exc.reason, status=422)
    raise web.HTTPSeeOther(PAGE)


def setup_routes(app: web.Application) -> None:
    app.router.add_get(PAGE, admin_page)
    app.router.add_post(PAGE, admin_submit)
    api_route(app, "GET", "/misses", api_list, tag="misses", query={"limit": "groups returned (default 50)"},
              summary="Open misses grouped by similar wording, most frequent first (admins)",
              responses={200: "{open, misses: [{id, text, action, intent, confidence, count, created, kind, "
                              "flagged_by, similar}]}"})
    api_route(app, "POST", "/misses/{id}/label", api_label, tag="misses", body=LABEL_BODY,
              summary="Add the missed message (and `also`) as an example of an intent or a new FAQ (admins)",
              responses={204: "labelled", 400: "not JSON", 422: "unknown intent, closed miss or a text "
                                                                  "another intent owns"})
    api_route(app, "POST", "/misses/{id}/dismiss", api_dismiss, tag="misses", summary="Dismiss a miss (admins)",
              responses={204: "dismissed", 422: "closed already"})
    api_route(app, "POST", "/messages/{id}/miss", api_flag, tag="misses",
              summary="Flag a bot reply as wrong: the customer message it answered becomes a miss",
              responses={201: "{miss_id}", 422: "not a bot reply to a customer's text, or labelled already"})
