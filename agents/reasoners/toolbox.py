"""The read-only tools as an OpenAI toolbox: function schemas plus a budgeted call.

``make_toolbox`` binds the tools of :mod:`tools.registry` to one view for the OpenAI reasoner
with a hard per-ticket call budget (:class:`tools.registry.CallBudget`); every call still goes
through :func:`tools.registry.call_tool`.
"""

from __future__ import annotations

from typing import Any

from agents.reasoners.openai_compat import ToolBox
from agents.reasoners.schemas import compact_schema
from tools.registry import DEFAULT_CALLS_PER_TICKET, TOOLS, CallBudget
from tools.view import WarehouseView

_CHECKED_ON_CALL = ("minLength", "minimum", "maximum", "exclusiveMinimum")


def tool_schemas() -> list[dict[str, Any]]:
    """OpenAI function-tool definitions of every read-only tool."""
    out = []
    for spec in TOOLS.values():
        schema = compact_schema(spec.params.model_json_schema())
        schema.pop("description", None)  # the params model's docstring; the tool has its own
        for prop in schema.get("properties", {}).values():  # bounds are checked on arrival
            for key in _CHECKED_ON_CALL:
                prop.pop(key, None)
        out.append({"type": "function", "function": {
            "name": spec.name, "description": spec.description, "parameters": schema}})
    return out


def make_toolbox(view: WarehouseView, *, max_calls: int = DEFAULT_CALLS_PER_TICKET) -> ToolBox:
    """The read-only tools bound to ``view`` for the OpenAI reasoner, budgeted per ticket."""
    return ToolBox(schemas=tool_schemas(), call=CallBudget(view, max_calls))
