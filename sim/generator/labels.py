"""Ground-truth cases and the expected next-best action of each recipe variant.

Label -> action mapping (contract section 3), one row per recipe variant:

| root cause | variant | action |
|---|---|---|
| MIS_SCAN | lookalike_pick | ADJUST_INVENTORY (move the eaches between the two look-alikes) |
| MIS_SCAN | double_scan | VOID_DUPLICATE (the second scan: one handling recorded twice) |
| MIS_SCAN | wrong_location | RECOUNT (both bins, before adjusting) |
| UOM_MASTER_DATA | case_qty, pack_change | CORRECT_MASTER_DATA (field case_qty) |
| UOM_MASTER_DATA | unit_weight | CORRECT_MASTER_DATA (field unit_weight_kg) |
| SLOTTING | neighbour_bin | RESLOT (the counted-over bin's stock back to its short neighbour) |
| SLOTTING | away_from_home, cage_outside, overweight | RESLOT |
| RECEIVING_ERROR | short_shipped, over_shipped, keyed_asn_qty | SUPPLIER_CLAIM |
| RECEIVING_ERROR | miscount | ADJUST_INVENTORY (the supplier shipped what the ASN said) |
| SHRINKAGE | writeoffs, unrecorded_loss | INVESTIGATE |
| SYSTEM_SYNC | duplicate | VOID_DUPLICATE (the second id) |
| SYSTEM_SYNC | late_event | INVESTIGATE (the interface; the balance heals itself) |
| LEGITIMATE | promotion, bulk_replenishment, relocation | NO_ACTION |
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from warehouse.contract import LABEL_COLUMNS, ActionType, RootCause

A = ActionType
R = RootCause
ACTIONS: dict[tuple[RootCause, str], ActionType] = {
    (R.MIS_SCAN, "lookalike_pick"): A.ADJUST_INVENTORY,
    (R.MIS_SCAN, "double_scan"): A.VOID_DUPLICATE,
    (R.MIS_SCAN, "wrong_location"): A.RECOUNT,
    (R.UOM_MASTER_DATA, "case_qty"): A.CORRECT_MASTER_DATA,
    (R.UOM_MASTER_DATA, "pack_change"): A.CORRECT_MASTER_DATA,
    (R.UOM_MASTER_DATA, "unit_weight"): A.CORRECT_MASTER_DATA,
    (R.SLOTTING, "neighbour_bin"): A.RESLOT,
    (R.SLOTTING, "away_from_home"): A.RESLOT,
    (R.SLOTTING, "cage_outside"): A.RESLOT,
    (R.SLOTTING, "overweight"): A.RESLOT,
    (R.RECEIVING_ERROR, "short_shipped"): A.SUPPLIER_CLAIM,
    (R.RECEIVING_ERROR, "over_shipped"): A.SUPPLIER_CLAIM,
    (R.RECEIVING_ERROR, "keyed_asn_qty"): A.SUPPLIER_CLAIM,
    (R.RECEIVING_ERROR, "miscount"): A.ADJUST_INVENTORY,
    (R.SHRINKAGE, "writeoffs"): A.INVESTIGATE,
    (R.SHRINKAGE, "unrecorded_loss"): A.INVESTIGATE,
    (R.SYSTEM_SYNC, "duplicate"): A.VOID_DUPLICATE,
    (R.SYSTEM_SYNC, "late_event"): A.INVESTIGATE,
    (R.LEGITIMATE, "promotion"): A.NO_ACTION,
    (R.LEGITIMATE, "bulk_replenishment"): A.NO_ACTION,
    (R.LEGITIMATE, "relocation"): A.NO_ACTION,
}
VARIANTS: dict[RootCause, list[str]] = {}
for _rc, _variant in ACTIONS:
    VARIANTS.setdefault(_rc, []).append(_variant)


@dataclass
class CaseLabel:
    """One injected case while the simulation runs; rows are referenced by sequence number."""

    root_cause: RootCause
    variant: str
    sku: str | None = None
    location: str | None = None
    seqs: list[int] = field(default_factory=list)

    @property
    def action(self) -> ActionType:
        """The expected action type for this root cause and variant."""
        return ACTIONS[(self.root_cause, self.variant)]


def labels_frame(cases: list[CaseLabel], txn_id_of_seq: list[str],
                 position_of_seq: list[int]) -> pd.DataFrame:
    """labels.csv rows: cases with rows, numbered in the order their first row appears.

    Args:
        cases: the injected cases; those that never produced a row are left out.
        txn_id_of_seq: final txn_id of each posted row, by sequence number.
        position_of_seq: position of each posted row in the sorted log.

    Returns:
        The contract's label columns plus ``variant``.
    """
    kept = [c for c in cases if c.seqs]
    kept.sort(key=lambda c: min(position_of_seq[s] for s in c.seqs))
    rows = []
    for i, case in enumerate(kept, start=1):
        seqs = sorted(set(case.seqs), key=lambda s: position_of_seq[s])
        rows.append({
            "case_id": f"CASE-{i:04d}",
            "root_cause": case.root_cause.value,
            "txn_ids": " ".join(txn_id_of_seq[s] for s in seqs),
            "sku": case.sku,
            "location": case.location,
            "action": case.action.value,
            "variant": case.variant,
        })
    return pd.DataFrame(rows, columns=[*LABEL_COLUMNS, "variant"])
