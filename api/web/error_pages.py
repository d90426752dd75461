"""Errors under ``/ui`` as HTML pages a person can read and leave, not raw JSON.

The API's handlers (:func:`api.errors.install_error_handlers`) stay in charge of ``/v1``
and of UI requests that ask for JSON or a stream (the chat panel's fetch); a browser page
(an unknown ticket, a bad filter, an unknown chart) gets the same status code with a page
that says what was wrong and links back to the queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.errors import ApiError, field_path
from api.web.session import cookie_user
from api.web.templating import templates

Handler = Callable[[Request, Any], Awaitable[Response]]

TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Changed meanwhile",
          422: "Not a valid request", 503: "Unavailable"}


def wants_page(request: Request) -> bool:
    """A browser navigation under ``/ui`` (not the chat's fetch or another API client)."""
    if not request.url.path.startswith("/ui"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "*/*" in accept or not accept


def error_page(request: Request, status: int, message: str) -> Response:
    """The error page for ``status`` with ``message``."""
    try:
        with Session(request.app.state.engine) as session:
            user = cookie_user(request, session)
    except Exception:  # noqa: BLE001 - the page still renders, without the signed-in user
        user = None
    return templates.TemplateResponse(request, "error.html", {
        "user": user, "status": status, "title": TITLES.get(status, "Something went wrong"),
        "message": message}, status_code=status)


def install_error_pages(app: FastAPI) -> None:
    """Serve HTML errors for UI pages, keeping the API's JSON handlers for the rest."""
    api_error = cast(Handler, app.exception_handlers[ApiError])
    invalid = cast(Handler, app.exception_handlers[RequestValidationError])
    http_error = cast(Handler | None, app.exception_handlers.get(StarletteHTTPException))

    async def on_api_error(request: Request, exc: Any) -> Any:
        if wants_page(request):
            return error_page(request, exc.status_code, exc.message)
        return await api_error(request, exc)

    async def on_invalid(request: Request, exc: Any) -> Any:
        if wants_page(request):
            problems = "; ".join(f"{field_path(tuple(e.get('loc', ())))}: {e.get('msg')}"
                                 for e in exc.errors()[:5])
            return error_page(request, 422, f"These filters are not valid: {problems}.")
        return await invalid(request, exc)

    async def on_http(request: Request, exc: Any) -> Any:
        if exc.status_code >= 400 and wants_page(request):
            return error_page(request, exc.status_code,
                              "There is no such page." if exc.status_code == 404
                              else str(exc.detail))
        if http_error is not None:
            return await http_error(request, exc)
        from fastapi.exception_handlers import http_exception_handler
        return await http_exception_handler(request, exc)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
