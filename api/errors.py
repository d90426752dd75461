"""API errors and the handlers that turn them (and bad requests) into clear 4xx answers.

Routes raise :class:`ApiError` subclasses; nothing catches exceptions route by route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field


class ApiError(Exception):
    """An error with an HTTP status and a message meant for the caller."""

    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers
        self.extra = extra or {}


class NotAuthenticated(ApiError):
    """No valid API key (401)."""

    status_code = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    """The caller's role may not do this (403)."""

    status_code = 403


class NotFound(ApiError):
    """No such resource (404)."""

    status_code = 404


class Conflict(ApiError):
    """The request conflicts with the current state (409)."""

    status_code = 409


class Unavailable(ApiError):
    """A dependency (database, WMS) is not reachable (503)."""

    status_code = 503


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a message, and the per-field or per-row details when there are."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="what is wrong, for a person")
    errors: list[FieldError] | None = Field(default=None, description="invalid fields (422)")
    rejected: list[dict[str, Any]] | None = Field(
        default=None, description="rejected rows by index (event intake)")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the error answers of a route or router."""
    meaning = {400: "bad request", 401: "missing, invalid or revoked API key",
               403: "the caller's role may not do this", 404: "no such resource",
               409: "conflicts with the current state", 422: "invalid request",
               503: "a dependency is unavailable"}
    return {code: {"model": ErrorBody, "description": meaning[code]} for code in codes}


API_ERRORS = error_responses(400, 401, 403, 422)
"""What any authenticated /v1 route may answer besides its own (400: a body that cannot be
read, such as bytes that are not UTF-8)."""


def field_path(loc: tuple[int | str, ...]) -> str:
    """A validation error location as a dotted field path, without the 'body' prefix."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Map API errors and request validation errors once, for every route."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, **exc.extra}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_error(e) for e in exc.errors()]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return JSONResponse({"detail": f"invalid request: {summary}", "errors": errors},
                            status_code=422)


def _error(error: dict[str, Any]) -> dict[str, str]:
    """One validation error as ``{field, message}``; a body that is not JSON names the body."""
    if error.get("type") == "json_invalid":
        where = error.get("loc", ("body", 0))[-1]
        reason = (error.get("ctx") or {}).get("error", "malformed")
        return {"field": "body", "message": f"not valid JSON ({reason} at character {where})"}
    return {"field": field_path(tuple(error.get("loc", ()))), "message": error.get("msg",
                                                                                   "invalid")}
