"""REST API of the inbox and threads (/api/v1): the same services and checks as the pages."""
from __future__ import annotations

from aiohttp import web

from bot.desk import handling, queue, thread_view
from bot.desk.replies import ReplyRefused
from bot.web.auth import api_viewer, now
from bot.web.context import runtime_of
from bot.web.openapi import ApiError, api_route, int_param, json_body, text_field

TEXT_BODY = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "maxLength": 2000}}}
ACTION_ERRORS = {404: "no such thread (or another account's)", 409: "the caller does not hold the thread"}


def _id(request: web.Request) -> int:
    return int_param(request.match_info["id"], "id")


async def _text(request: web.Request) -> str:
    return text_field(await json_body(request), "text", max_length=handling.MAX_TEXT)


async def list_inbox(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    try:
        flt = queue.InboxFilter.parse(request.query)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    async with runtime_of(request).db.sessions() as session:
        rows = await queue.list_items(session, viewer, flt)
    moment = now()
    return web.json_response({"items": [row.as_json(moment) for row in rows]})


async def claim(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    try:
        async with runtime_of(request).db.uow() as session:
            thread_id = await queue.claim(session, viewer, _id(request), now())
    except queue.ClaimConflict as exc:
        raise ApiError(409, exc.reason, holder=exc.holder) from None
    return web.json_response({"id": _id(request), "thread_id": thread_id, "claimed_by": viewer.username})


async def get_thread(request: web.Request) -> web.Response:
    viewer = api_viewer(request)
    rt = runtime_of(request)
    async with rt.db.sessions() as session:
        view = await thread_view.load(session, rt.settings, viewer, _id(request), now())
    return web.json_response(view.as_json(now()))


async def _act(request: web.Request, action) -> web.Response:
    """Run a thread action, mapping its refusals onto 409 / 422."""
    try:
        return await action()
    except handling.NotHolder as exc:
        raise ApiError(409, exc.reason) from None
    except handling.BadRequest as exc:
        raise ApiError(422, exc.reason) from None


async def reply(request: web.Request) -> web.Response:
    viewer, text = api_viewer(request), await _text(request)
    rt = runtime_of(request)

    async def run() -> web.Response:
        try:
            async with rt.db.uow() as session:
                message = await handling.reply(session, rt.settings, viewer, _id(request), text, now())
        except ReplyRefused as exc:
            raise ApiError(422, exc.reason) from None
        rt.wake_sender()
        return web.json_response({"id": message.id, "state": message.state}, status=202)

    return await _act(request, run)


async def add_note(request: web.Request) -> web.Response:
    viewer, text = api_viewer(request), await _text(request)

    async def run() -> web.Response:
        async with runtime_of(request).db.uow() as session:
            message = await handling.note(session, viewer, _id(request), text, now())
        return web.json_response({"id": message.id}, status=201)

    return await _act(request, run)


async def transfer(request: web.Request) -> web.Response:
    viewer, body = api_viewer(request), await json_body(request)
    to = body.get("to")
    if to is not None and (not isinstance(to, str) or not to.strip()):
        raise ApiError(422, "字段 to 必须是客服用户名，或为 null（退回队列）")

    async def run() -> web.Response:
        async with runtime_of(request).db.uow() as session:
            await handling.transfer(session, viewer, _id(request), to, now())
        return web.json_response({"id": _id(request), "to": to})

    return await _act(request, run)


async def release(request: web.Request) -> web.Response:
    viewer = api_viewer(request)

    async def run() -> web.Response:
        async with runtime_of(request).db.uow() as session:
            await handling.transfer(session, viewer, _id(request), None, now())
        return web.json_response({"id": _id(request), "owner": "queue"})

    return await _act(request, run)


async def resolve(request: web.Request) -> web.Response:
    viewer, rt = api_viewer(request), runtime_of(request)
    body = await json_body(request) if request.can_read_body else {}
    ask_rating = body.get("ask_rating")
    if ask_rating is not None and not isinstance(ask_rating, bool):
        raise ApiError(422, "字段 ask_rating 必须是 true 或 false")

    async def run() -> web.Response:
        async with rt.db.uow() as session:
            await handling.resolve(session, rt.settings, viewer, _id(request), now(), ask_rating=ask_rating)
        rt.wake_sender()  # the rating question, when asked, goes through the outbox
        return web.json_response({"id": _id(request), "owner": "bot"})

    return await _act(request, run)


def setup_routes(app: web.Application) -> None:
    api_route(app, "GET", "/inbox", list_inbox, tag="inbox",
              summary="Open inbox items, by priority then waiting time",
              query={"view": "unassigned (default) | mine | all", "account": "account slug",
                     "priority": "urgent | high | normal | low", "status": "ticket status"},
              responses={200: "{items: [...]}", 400: "bad filter value"})
    api_route(app, "POST", "/inbox/{id}/claim", claim, tag="inbox", summary="Claim an item (atomic)",
              responses={200: "{id, thread_id, claimed_by}", 404: "no such item",
                         409: "held by somebody else: {error, holder}"})
    api_route(app, "GET", "/threads/{id}", get_thread, tag="threads",
              summary="A thread: messages (bot intent and confidence, notes, delivery state), customer, tickets, window",
              responses={200: "the thread"})
    api_route(app, "POST", "/threads/{id}/reply", reply, tag="threads", body=TEXT_BODY,
              summary="Reply to the customer through the outbox",
              responses={202: "{id, state}", 400: "not JSON", **ACTION_ERRORS,
                         422: "empty text, or the platform's reply window is closed (reason)"})
    api_route(app, "POST", "/threads/{id}/notes", add_note, tag="threads", body=TEXT_BODY,
              summary="Add an internal note (never sent)",
              responses={201: "{id}", 400: "not JSON", 404: ACTION_ERRORS[404], 422: "empty text"})
    api_route(app, "POST", "/threads/{id}/transfer", transfer, tag="threads",
              body={"type": "object", "properties": {"to": {"type": ["string", "null"],
                                                            "description": "username; null: back to the queue"}}},
              summary="Transfer to another agent of the account, or back to the queue",
              responses={200: "{id, to}", 400: "not JSON", **ACTION_ERRORS, 422: "unknown agent"})
    api_route(app, "POST", "/threads/{id}/release", release, tag="threads", summary="Give the thread back to the queue",
              responses={200: "{id, owner}", **ACTION_ERRORS})
    api_route(app, "POST", "/threads/{id}/resolve", resolve, tag="threads",
              body={"type": "object", "properties": {"ask_rating": {
                  "type": "boolean", "description": "ask the customer for a 1-5 rating (default: CAREBOT_CSAT_ON_RESOLVE)"}}},
              summary="Resolve: the inbox item closes, open tickets are resolved, the bot answers again",
              responses={200: "{id, owner}", **ACTION_ERRORS})
