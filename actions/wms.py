"""The WMS write-back interface: the only way Tally changes a warehouse's records.

Only the post-approval write-back node holds an adapter. Every call carries an idempotency
key (one per approved action) so that a retried call never applies an action twice.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel

from warehouse.contract import Action


class WriteBackStatus(StrEnum):
    """Outcome of one write-back attempt."""

    APPLIED = "APPLIED"
    ALREADY_APPLIED = "ALREADY_APPLIED"
    FAILED = "FAILED"


class WriteBackResult(BaseModel):
    """What the WMS answered for one approved action."""

    status: WriteBackStatus
    idempotency_key: str
    wms_reference: str | None = None
    detail: str | None = None


class WmsAdapter(Protocol):
    """A WMS that can apply an approved contract action exactly once per idempotency key."""

    def apply(self, action: Action, *, idempotency_key: str) -> WriteBackResult:
        """Apply ``action``; a repeated key returns ALREADY_APPLIED and changes nothing."""
        ...
