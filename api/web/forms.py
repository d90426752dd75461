"""HTML form posts: URL-encoded bodies parsed into pydantic models (4xx on bad input).

Browsers post forms as ``application/x-www-form-urlencoded``; parsing that needs no extra
dependency, and every form is then validated by a pydantic model like an API body.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Request
from pydantic import BaseModel, ValidationError

from api.errors import ApiError, field_path

MAX_FORM_BYTES = 64 * 1024
M = TypeVar("M", bound=BaseModel)


class BadForm(ApiError):
    """A form post that does not validate (422)."""

    status_code = 422


async def form_fields(request: Request) -> dict[str, str]:
    """The posted fields (last value wins), refusing bodies that are not small forms."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise BadForm(f"expected a form post (application/x-www-form-urlencoded), got {kind!r}")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise BadForm(f"form too large ({len(body)} bytes, at most {MAX_FORM_BYTES})")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def parse_form(model: type[M], fields: dict[str, Any]) -> M:
    """``fields`` validated as ``model``, or a 422 naming each bad field."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{field_path(tuple(e['loc']))}: {e['msg']}"
                             for e in exc.errors()[:5])
        raise BadForm(f"invalid form: {problems}") from exc


def coerce_param(original: Any, text: str) -> Any:
    """A param typed in a form box, read back in the type the proposed value had.

    Lists are comma-separated; numbers stay numbers (ints when whole); an empty box is None.
    """
    text = text.strip()
    if isinstance(original, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    if text == "":
        return None
    if isinstance(original, bool):
        return text.lower() in ("1", "true", "yes", "on")
    if isinstance(original, int | float):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return text
