"""The audit chain's first format, and the keyed seal that lets a chain carry it.

Until the chain was keyed (``warehouse/audit.py`` before commit 8c434a0), each record's hash
was plain SHA-256 over the canonical JSON of its fields: :data:`LEGACY_FORMAT`. A database
written by such a version holds records of that format, and a newer version appends keyed
records after them, so the keyed check fails on every old one.

Plain-hashed records cannot simply be accepted: anyone can recompute plain SHA-256, so a
chain rewritten without the key would verify. They verify only under a *seal*: one keyed
record (kind CHAIN) that an operator holding ``TALLY_AUDIT_KEY`` appends once
(``tally audit seal-legacy --head HASH``), naming the last plain record's sequence number
and hash. The operator gives the head hash the old ``tally audit verify`` printed and that
was kept outside the database; the seal is refused unless the plain prefix ends there.
From then on the plain records up to the sealed one are checked with the plain hash, the
sealed record must still have the sealed hash (so no plain record before it can change),
and everything else is checked with the key, the seal included (so nobody without the key
can add or move a seal).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from warehouse.canonical import canonical_json, sha256_hex

LEGACY_FORMAT = "sha256-v1"
"""Plain SHA-256 of the record's fields, no key."""
SEAL_EVENT = "legacy_sealed"


class LegacySeal(BaseModel):
    """A seal's payload: the plain-hashed records end at ``through_seq`` with ``through_hash``."""

    event: str = SEAL_EVENT
    format: str = LEGACY_FORMAT
    through_seq: int
    through_hash: str
    by: str


def record_fields(*, seq: int, ts: str, kind: str, correlation_id: str | None, payload: str,
                  prev_hash: str) -> str:
    """The canonical JSON a record's hash covers, in every format."""
    return canonical_json({"seq": seq, "ts": ts, "kind": kind, "correlation_id": correlation_id,
                           "payload": payload, "prev_hash": prev_hash})


def legacy_hash(row: Any) -> str:
    """A record's hash in :data:`LEGACY_FORMAT` (``row``: a mapping of its columns)."""
    return sha256_hex(record_fields(seq=row["seq"], ts=row["ts"], kind=row["kind"],
                                    correlation_id=row["correlation_id"],
                                    payload=row["payload"], prev_hash=row["prev_hash"]))
