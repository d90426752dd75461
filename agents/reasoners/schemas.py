"""JSON schemas as a model reads them: the same constraints in fewer tokens.

Pydantic's schemas repeat each property name as a ``title`` and spell an optional field as
``anyOf: [T, null]`` with ``default: null``. A model needs neither (an optional field is one
it may leave out), and every call of a ticket resends the schemas, so they are compacted here
once for the prompts and the tool definitions. Validation still uses the full pydantic models.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel


def compact_schema(schema: Any) -> Any:
    """``schema`` without titles, with ``T | None`` fields as plain ``T`` (defaults of None cut)."""
    if isinstance(schema, list):
        return [compact_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: compact_schema(v) for k, v in schema.items()
           if k != "title" and not (k == "default" and v is None)}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options and len(options) == 2:
        out.pop("anyOf")
        out = {**next(o for o in options if o != {"type": "null"}), **out}
    return out


def schema_text(model: type[BaseModel]) -> str:
    """The compact schema of ``model`` as one line of JSON, for a prompt."""
    return json.dumps(compact_schema(model.model_json_schema()), separators=(",", ":"))
