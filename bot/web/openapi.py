"""REST API plumbing: routes under /api/v1 documented as they are added, JSON errors, bodies.

`api_route` registers a handler and its OpenAPI operation together, so the document at
/api/v1/openapi.json cannot drift from the routes that exist.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.untrusted import DB_ID_MAX, ascii_int, load_json

PREFIX = "/api/v1"
OPENAPI = web.AppKey("openapi_paths", dict)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
DEFAULT_ERRORS = {401: "not logged in", 403: "not allowed", 404: "not found"}


class ApiError(Exception):
    """Answered as `{"error": reason}` with `status`; extra fields go into the body too."""

    def __init__(self, status: int, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        self.status, self.reason, self.extra = status, reason, extra

    def response(self) -> web.Response:
        return web.json_response({"error": self.reason, **self.extra}, status=self.status)


def api_route(app: web.Application, method: str, path: str, handler: Handler, *, summary: str,
              tag: str, body: dict[str, Any] | None = None, query: dict[str, str] | None = None,
              responses: dict[int, str] | None = None, public: bool = False) -> None:
    """Add `handler` at /api/v1`path` and describe it in the OpenAPI document.

    body: JSON schema of the request body; query: parameter name -> description;
    responses: status -> description (401/403/404 are added unless `public`).
    """
    app.router.add_route(method, PREFIX + path, handler)
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {}}
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
                  for name in _path_params(path)]
    parameters += [{"name": name, "in": "query", "required": False, "description": text,
                    "schema": {"type": "string"}} for name, text in (query or {}).items()]
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": bool(body.get("required")),
                                    "content": {"application/json": {"schema": body}}}
    all_responses = {**({} if public else DEFAULT_ERRORS), **(responses or {200: "ok"})}
    for status, text in sorted(all_responses.items()):
        entry: dict[str, Any] = {"description": text}
        if status >= 400:
            entry["content"] = {"application/json": {"schema": ERROR_SCHEMA}}
        operation["responses"][str(status)] = entry
    if not public:
        operation["security"] = [{"bearer": []}, {"session": []}]
    app.setdefault(OPENAPI, {}).setdefault(PREFIX + path, {})[method.lower()] = operation


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response({
        "openapi": "3.1.0",
        "info": {"title": "carebot agent API", "version": "1"},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "`carebot agent token NAME` or POST /api/v1/auth/token"},
            "session": {"type": "apiKey", "in": "cookie", "name": "carebot_session",
                        "description": "the pages' login; state changes need the X-CSRF-Token header"}}},
        "paths": request.app[OPENAPI],
    })


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or 400 with the reason."""
    try:
        body = await request.json(loads=load_json)
    except ValueError:  # also bad UTF-8, NaN, nesting too deep
        raise ApiError(400, "请求体不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "请求体必须是 JSON 对象")
    return body


def text_field(body: dict[str, Any], name: str, *, max_length: int = 4000, required: bool = True) -> str | None:
    """A non-empty string field, or 422 with the reason."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, f"字段 {name} 必须是非空字符串")
    if len(value) > max_length:
        raise ApiError(422, f"字段 {name} 最长 {max_length} 个字符")
    return value


def int_param(value: str, name: str) -> int:
    """One of our ids from a path: ASCII digits, 1 to the largest id a column holds; else 400."""
    number = ascii_int(value, DB_ID_MAX)
    if number is None or number < 1:
        raise ApiError(400, f"{name} 必须是 1 到 {DB_ID_MAX} 之间的整数")
    return number
