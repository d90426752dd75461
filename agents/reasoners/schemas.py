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


def inline_refs(schema: Any, defs: dict[str, Any] | None = None) -> Any:
    """``schema`` with every ``#/$defs/...`` reference replaced by its definition.

    A small model reads ``"root_cause": {"enum": [...]}`` where it would lose its way through
    ``$ref`` and ``$defs`` (and is less tempted to answer with the schema's own skeleton).
    """
    if defs is None and isinstance(schema, dict):
        defs = schema.get("$defs", {})
    if isinstance(schema, list):
        return [inline_refs(s, defs) for s in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and defs:
        target = defs[ref.removeprefix("#/$defs/")]
        return inline_refs({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, defs)
    return {k: inline_refs(v, defs) for k, v in schema.items() if k != "$defs"}


def schema_text(model: type[BaseModel]) -> str:
    """The compact schema of ``model``, references inlined, as one line of JSON for a prompt.

    Descriptions of the models themselves are cut (their fields keep theirs).
    """
    schema = inline_refs(compact_schema(model.model_json_schema()))
    return json.dumps(_without_model_descriptions(schema), separators=(",", ":"))


def _without_model_descriptions(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_without_model_descriptions(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    is_model = "properties" in schema or "enum" in schema
    return {k: _without_model_descriptions(v) for k, v in schema.items()
            if not (is_model and k == "description")}
