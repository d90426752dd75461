"""A recount is a step of the investigation: the blind count, and the follow-up it calls for.

After a RECOUNT is written back (a blind count task: the WMS shows the counter no expected
quantity), the graph waits at ``await_count`` for the CYCLE_COUNT of that SKU and location.
The count becomes evidence; the ticket is classified again with it and the follow-up is
proposed, for approval like any action:

- the count matches the system quantity (within ``tolerance``): close with NO_ACTION, "no
  variance";
- the cause names a correction that the count bears out (a variance that is a whole number
  of cases on a UOM_MASTER_DATA ticket whose item master is wrong): the policy's correction;
- otherwise: ADJUST_INVENTORY of the counted difference, reason COUNT_CORRECTION.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from warehouse.contract import Action, ActionType, EvidenceItem, ReasonCode, RootCause


class CountResult(BaseModel):
    """The blind count that answered a recount (the value ``await_count`` is resumed with)."""

    model_config = {"extra": "forbid"}

    txn_id: str = Field(min_length=1, max_length=128, description="the CYCLE_COUNT event")
    sku: str = Field(min_length=1, max_length=128)
    location: str = Field(min_length=1, max_length=128)
    counted_qty: float = Field(ge=0, description="eaches counted")
    system_qty: float = Field(description="the perpetual balance when the count was posted")
    counted_by: str | None = Field(default=None, max_length=128)
    ts: str | None = Field(default=None, max_length=40)

    @property
    def variance(self) -> float:
        """Counted minus system: positive = more on the shelf than the record says."""
        return self.counted_qty - self.system_qty


class FollowUpParams(BaseModel):
    """When a count counts as matching."""

    tolerance: float = Field(default=0.0, ge=0.0, description="eaches of difference that "
                             "still count as no variance")


BLIND_COUNT = " (blind)"
"""How the source of a blind count's evidence ends."""


def count_evidence(count: CountResult, evidence_id: str) -> EvidenceItem:
    """The count as an evidence fact the explanation can cite."""
    return EvidenceItem(
        id=evidence_id, source=f"CYCLE_COUNT {count.txn_id}{BLIND_COUNT}",
        fact=(f"blind count of {count.sku} at {count.location}: counted {count.counted_qty:g}, "
              f"system {count.system_qty:g}, variance {count.variance:+g}"))


def count_in(evidence: Sequence[EvidenceItem]) -> EvidenceItem | None:
    """The blind count a recount's follow-up answers, None before a recount's count."""
    return next((e for e in reversed(evidence) if e.source.startswith("CYCLE_COUNT ")
                 and e.source.endswith(BLIND_COUNT)), None)


def follow_up(count: CountResult, cause: RootCause, drafted: Action,
              params: FollowUpParams | None = None) -> Action:
    """The action the count calls for (see the module docstring).

    Args:
        count: the blind count.
        cause: the root cause after re-classifying with the count.
        drafted: what the policy drafts for that cause on the evidence with the count.
        params: the tolerance.
    """
    p = params or FollowUpParams()
    if abs(count.variance) <= p.tolerance:
        return Action(type=ActionType.NO_ACTION)
    if cause is RootCause.UOM_MASTER_DATA and drafted.type is ActionType.CORRECT_MASTER_DATA:
        return drafted
    return Action(type=ActionType.ADJUST_INVENTORY, params={
        "sku": count.sku, "location": count.location, "qty_delta": count.variance,
        "reason_code": ReasonCode.COUNT_CORRECTION.value})
