"""The envelope a model sees for every tool call, and the spec each tool module exports."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from tools.view import WarehouseView


class ToolStatus(StrEnum):
    """How a tool call went: data found, nothing found, or a bad call."""

    OK = "ok"
    NO_DATA = "no_data"
    ERROR = "error"


class ToolResult(BaseModel):
    """What the model receives: status, data (or a one-line error) and the params it sent."""

    status: ToolStatus
    data: Any = Field(default=None, description="the tool's result, or the error message")
    params: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class ToolSpec:
    """One read-only tool as the registry offers it.

    Attributes:
        name: function name the model calls.
        description: one line for the model.
        params: pydantic model of the arguments (its JSON schema becomes the tool schema).
        run: the pure function over the view with validated params; returns pydantic data,
            a list of it, or None when there is nothing to report.
    """

    name: str
    description: str
    params: type[BaseModel]
    run: Callable[[WarehouseView, Any], BaseModel | list[Any] | None]


def num(value: float | int | None, digits: int = 3) -> str:
    """A number as evidence prints it: integers without decimals, others rounded."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    v = float(value)
    if v.is_integer():
        return str(int(v))
    return f"{round(v, digits):g}"
