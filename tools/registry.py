"""All read-only tools by name: envelope calls and per-ticket call budgets.

``call_tool`` is the only way a model reaches a tool: it validates the arguments with the
tool's params model and answers with a :class:`tools.result.ToolResult` envelope, never a
traceback. :class:`CallBudget` caps the calls per ticket; the graph opens each ticket's budget
with :func:`ticket_scope`. The OpenAI function schemas and toolbox are the reasoner's
(:mod:`agents.reasoners.toolbox`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ValidationError

from tools import (
    count_history,
    duplicate_candidates,
    item_master,
    ledger_replay,
    location_details,
    lookalike_skus,
    master_data_history,
    receipt_vs_asn,
    recent_transactions,
    user_activity,
)
from tools.result import ToolResult, ToolSpec, ToolStatus
from tools.view import WarehouseView

log = logging.getLogger(__name__)

TOOLS: dict[str, ToolSpec] = {t.name: t for t in (
    item_master.TOOL, lookalike_skus.TOOL, location_details.TOOL, ledger_replay.TOOL,
    recent_transactions.TOOL, count_history.TOOL, receipt_vs_asn.TOOL, user_activity.TOOL,
    duplicate_candidates.TOOL, master_data_history.TOOL,
)}
DEFAULT_CALLS_PER_TICKET = 3

_ticket: ContextVar[str] = ContextVar("tally_tool_ticket", default="")


@contextmanager
def ticket_scope(ticket_id: str) -> Iterator[None]:
    """Count the tool calls made inside this block against ``ticket_id``'s budget."""
    token = _ticket.set(ticket_id)
    try:
        yield
    finally:
        _ticket.reset(token)


def call_tool(view: WarehouseView, name: str, args: dict[str, Any]) -> ToolResult:
    """Run one tool with raw arguments; every outcome is an envelope.

    Args:
        view: the warehouse the tool reads.
        name: tool name.
        args: arguments as the model sent them (validated here).

    Returns:
        ``ok`` with the data, ``no_data`` when the tool found nothing, ``error`` with one
        line for an unknown tool, bad arguments or a failure inside the tool.
    """
    spec = TOOLS.get(name)
    if spec is None:
        return ToolResult(status=ToolStatus.ERROR, data=f"unknown tool {name!r}", params=args)
    try:
        params = spec.params.model_validate(args)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        return ToolResult(status=ToolStatus.ERROR, data=f"{where}: {first['msg']}", params=args)
    try:
        data = spec.run(view, params)
    except Exception as err:  # noqa: BLE001 - the model gets one line, the log the traceback
        log.exception("tool %s failed", name)
        return ToolResult(status=ToolStatus.ERROR, data=f"{name} failed: {type(err).__name__}",
                          params=params.model_dump(mode="json"))
    if data is None:
        return ToolResult(status=ToolStatus.NO_DATA, params=params.model_dump(mode="json"))
    payload = ([d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
               if isinstance(data, list) else data.model_dump(mode="json"))
    return ToolResult(status=ToolStatus.OK, data=payload, params=params.model_dump(mode="json"))


class CallBudget:
    """Tool calls by name with at most ``max_calls`` per ticket (set by :func:`ticket_scope`).

    Called with a tool name and raw arguments, it answers the envelope as compact JSON.
    """

    def __init__(self, view: WarehouseView, max_calls: int) -> None:
        self.view = view
        self.max_calls = max_calls
        self.spent: dict[str, int] = {}

    def __call__(self, name: str, args: dict[str, Any]) -> str:
        """Call tool ``name`` if the ticket's budget allows; the envelope as JSON."""
        ticket = _ticket.get()
        used = self.spent.get(ticket, 0)
        if used >= self.max_calls:
            result = ToolResult(status=ToolStatus.ERROR, params=args,
                                data=f"tool budget of {self.max_calls} calls for this ticket spent")
        else:
            self.spent[ticket] = used + 1
            result = call_tool(self.view, name, args)
        return json.dumps(result.model_dump(mode="json"), separators=(",", ":"))

