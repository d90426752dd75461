"""What the scorer hands to the agent: flags with reason codes, grouped into incidents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from warehouse.contract import Severity


class Flag(BaseModel):
    """One detector firing on one transaction, with the numbers behind it.

    ``reason`` reads like ``WEIGHT_MISMATCH measured=14.2kg expected=7.1kg ratio=2.00``.
    """

    txn_id: str
    detector: str = Field(description="detector name, e.g. weight")
    code: str = Field(description="reason code, e.g. WEIGHT_MISMATCH")
    reason: str = Field(description="the code with its numbers, human readable")
    numbers: dict[str, Any] = Field(default_factory=dict, description="the numbers behind it")
    score: float = Field(ge=0.0, le=1.0, description="this detector's strength for this row")
    sku: str | None = None
    location: str | None = None
    user_id: str | None = None
    device_id: str | None = None
    ts: str | None = None
    keys: list[str] = Field(default_factory=list,
                            description="link keys that group flags into incidents, e.g. sku:X")


class Incident(BaseModel):
    """Related flags (same SKU, location, user, device, ASN or look-alike pair) as one problem."""

    incident_id: str
    txn_ids: list[str]
    flags: list[Flag]
    sku: str | None = None
    location: str | None = None
    related_skus: list[str] = Field(default_factory=list)
    related_locations: list[str] = Field(default_factory=list)
    user_ids: list[str] = Field(default_factory=list)
    first_ts: str | None = None
    last_ts: str | None = None
    risk_score: float = Field(ge=0.0, le=1.0)
    severity: Severity

    @property
    def codes(self) -> list[str]:
        """Distinct reason codes, in order of first appearance."""
        return list(dict.fromkeys(f.code for f in self.flags))
