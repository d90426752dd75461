"""Canonical JSON and the digests built on it: one byte string per value, whatever the DB.

Approvals bind to the digest of an action's exact payload, write-backs carry an idempotency
key derived from it, and the audit chain hashes canonical records. All three must agree on
what "the same payload" means, so they share this module.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic_core import to_jsonable_python

from warehouse.contract import Action


def canonical_json(value: Any) -> str:
    """Serialize ``value`` deterministically: sorted keys, no whitespace, UTF-8 text.

    Pydantic models, enums, datetimes and the like become their JSON forms first.
    """
    return json.dumps(
        to_jsonable_python(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def sha256_hex(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8) as 64 hex characters."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def action_digest(action: Action) -> str:
    """The digest of an action's exact payload (type and params); any edit changes it."""
    return sha256_hex(canonical_json(action.model_dump(mode="json")))


def write_back_key(ticket_id: str, action: Action) -> str:
    """The idempotency key for writing ``action`` back for ``ticket_id``.

    Stable across retries of the same approved action; an edited action gets a new key.
    """
    return f"{ticket_id}:{action_digest(action)[:24]}"
