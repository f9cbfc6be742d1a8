"""Customer profiles on the web: the page `/customers/{id}` (forms, no script needed) and the API
`/api/v1/customers...`, both through bot.desk.profiles (same checks, same audit)."""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.desk import privacy, profiles
from bot.desk.access import NotFound, Viewer
from bot.untrusted import DB_ID_MAX
from bot.web.auth import api_viewer, now, page_viewer
from bot.web.context import runtime_of
from bot.web.inbox_pages import labels
from bot.web.openapi import ApiError, api_route, int_param, json_body

LINK_BODY = {"type": "object", "required": ["customer_id"], "properties": {"customer_id": {"type": "integer"}}}
PATCH_BODY = {"type": "object", "properties": {
    "tags": {"type": "array", "items": {"type": "string", "maxLength": profiles.MAX_TAG_CHARS},
             "maxItems": profiles.MAX_TAGS, "description": "replaces the tags; markup characters are refused (422)"},
    "note": {"type": "string", "maxLength": profiles.MAX_NOTE_CHARS}}}
PROFILE = ("{id, person_id, tags, note, stated: {phones, orders}, identities: [{id, platform, external_id, unionid, "
           "nickname, thread_id, account}], hidden_identities, timeline: [{at, kind, customer_id, thread_id, "
           "account, platform, ticket, status, text, rating, last_at}], updated_at}")
TAG_SEPARATORS = re.compile(r"[,，、\n]")


def _id(request: web.Request, name: str = "id") -> int:
    return int_param(request.match_info[name], name)


async def _profile_json(request: web.Request, viewer: Viewer, customer_id: int, status: int = 200) -> web.Response:
    async with runtime_of(request).db.sessions() as session:
        profile = await profiles.load(session, viewer, customer_id)
    return web.json_response(profile.as_json(), status=status)


async def _change(request: web.Request, change: Callable[[Any], Awaitable[Any]]) -> None:
    """Run one change in a unit of work; its refusals as API errors (nothing was changed)."""
    try:
        async with runtime_of(request).db.uow() as session:
            await change(session)
    except profiles.ProfileError as exc:
        raise ApiError(422, exc.reason) from None
    except (profiles.LinkConflict, privacy.AlreadyErased) as exc:
        raise ApiError(409, exc.reason) from None


async def api_get(request: web.Request) -> web.Response:
    return await _profile_json(request, api_viewer(request), _id(request))


async def api_search(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    async with runtime_of(request).db.sessions() as session:
        found = await profiles.search(session, viewer, request.query.get("q", ""))
    return web.json_response({"customers": [profiles.Identity(c, a, None).as_json() for c, a in found]})


async def api_link(request: web.Request) -> web.Response:
    viewer, customer_id = api_viewer(request), _id(request)
    other = (await json_body(request)).get("customer_id")
    if isinstance(other, bool) or not isinstance(other, int) or not 1 <= other <= DB_ID_MAX:
        raise ApiError(422, "字段 customer_id 必须是客户 id（正整数）")
    await _change(request, lambda session: profiles.link(session, viewer, customer_id, other, now()))
    return await _profile_json(request, viewer, customer_id)


async def api_unlink(request: web.Request) -> web.Response:
    viewer, customer_id, other = api_viewer(request), _id(request), _id(request, "other")
    await _change(request, lambda session: profiles.unlink(session, viewer, customer_id, other, now()))
    return await _profile_json(request, viewer, customer_id)


def _patch_fields(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - {"tags", "note"})
    if unknown:
        raise ApiError(422, f"未知字段：{', '.join(unknown)}（可修改 tags、note）")
    if not body:
        raise ApiError(422, "请提供 tags 或 note")
    try:
        return {"tags": profiles.check_tags(body["tags"]) if "tags" in body else None,
                "note": profiles.check_note(body["note"]) if "note" in body else None}
    except profiles.ProfileError as exc:
        raise ApiError(422, exc.reason) from None


async def api_patch(request: web.Request) -> web.Response:
    viewer, customer_id = api_viewer(request), _id(request)
    fields = _patch_fields(await json_body(request))
    await _change(request, lambda session: profiles.update(session, viewer, customer_id, now(), **fields))
    return await _profile_json(request, viewer, customer_id)


async def _render(request: web.Request, viewer: Viewer, customer_id: int, *, error: str = "",
                  status: int = 200) -> web.StreamResponse:
    query = request.query.get("q", "").strip()[:64]
    async with runtime_of(request).db.sessions() as session:
        profile = await profiles.load(session, viewer, customer_id)
        if query:
            linked = {identity.customer.id for identity in profile.identities}
            profile.matches = [(c, a) for c, a in await profiles.search(session, viewer, query) if c.id not in linked]
    return aiohttp_jinja2.render_template("customer.html", request, {
        **labels(), "nav": "inbox", "profile": profile, "query": query, "error": error,
        "tag_text": "，".join(profile.tags)}, status=status)


def _page_id(request: web.Request) -> int:
    try:
        return _id(request)
    except ApiError:
        raise NotFound("客户不存在") from None


async def page(request: web.Request) -> web.StreamResponse:
    return await _render(request, page_viewer(request), _page_id(request))


async def page_submit(request: web.Request) -> web.StreamResponse:
    """The page's forms: tags, note, link, unlink, erase (admins); errors shown on the page (422/409)."""
    viewer, customer_id = page_viewer(request), _page_id(request)
    form = await request.post()
    action, moment = form.get("action"), now()

    async def change(session: Any) -> Any:
        if action == "tags":
            tags = [tag for tag in TAG_SEPARATORS.split(str(form.get("tags", "")))]
            return await profiles.update(session, viewer, customer_id, moment, tags=profiles.check_tags(tags))
        if action == "note":
            return await profiles.update(session, viewer, customer_id, moment,
                                         note=profiles.check_note(str(form.get("note", ""))))
        if action == "erase":  # PIPL: admins only, and only when confirmed on the page
            viewer.require_admin()
            if form.get("confirm") != "yes":
                raise ApiError(422, "请先勾选“确认删除”：删除后无法恢复")
            return await privacy.erase(session, customer_id, actor=viewer.username, now=moment)
        other = int_param(str(form.get("customer_id", "")), "customer_id")
        if action == "link":
            return await profiles.link(session, viewer, customer_id, other, moment)
        if action == "unlink":
            return await profiles.unlink(session, viewer, customer_id, other, moment)
        raise ApiError(400, "未知操作")

    try:
        await _change(request, change)
    except ApiError as exc:
        return await _render(request, viewer, customer_id, error=exc.reason, status=exc.status)
    except NotFound as exc:  # the other customer (the page's own would not render either)
        return await _render(request, viewer, customer_id, error=exc.reason, status=404)
    raise web.HTTPSeeOther(f"/customers/{customer_id}")


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/customers/{id}", page)
    app.router.add_post("/customers/{id}", page_submit)
    api_route(app, "GET", "/customers", api_search, tag="customers",
              query={"q": "nickname, platform id, unionid, or a phone/order number the customer wrote"},
              summary="Search customers of the caller's accounts (candidates for linking)",
              responses={200: "{customers: [identity]}"})
    api_route(app, "GET", "/customers/{id}", api_get, tag="customers",
              summary="A customer's profile: every linked identity, one timeline, tags, note, stated numbers",
              responses={200: PROFILE})
    api_route(app, "PATCH", "/customers/{id}", api_patch, tag="customers", body=PATCH_BODY,
              summary="Change the person's tags and/or note (audited)",
              responses={200: "the profile", 400: "not JSON", 422: "bad tags (markup, too long, too many) or note"})
    api_route(app, "POST", "/customers/{id}/links", api_link, tag="customers", body=LINK_BODY,
              summary="\"这是同一个人\": link another customer (and whatever is linked to it) to this one (audited)",
              responses={200: "the profile", 400: "not JSON", 409: "already the same person",
                         422: "the customer itself, or not a customer id"})
    api_route(app, "DELETE", "/customers/{id}/links/{other}", api_unlink, tag="customers",
              summary="Unlink an identity from this customer's person (audited)",
              responses={200: "the profile", 409: "not linked to this customer", 422: "the customer itself"})
