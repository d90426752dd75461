"""The simulated WMS log and the two balances it is kept apart from.

``system`` is what the WMS believes: every posted row moves it by the contract's effect
rules, converting cases with the item master's case quantity. ``physical`` is what is on the
shelf: by default the same movement converted with the true case quantity, but a recipe may
say exactly where the goods really went (or that nothing physical happened at all). Cycle
counts read ``physical`` as the counted quantity and ``system`` as ``expected_qty``, so every
divergence an anomaly creates is what a later count reveals.
"""

from __future__ import annotations

from collections import defaultdict

from warehouse.contract import BALANCE_SIGN, TxnType

RECEIPT = TxnType.RECEIPT.value
PUTAWAY = TxnType.PUTAWAY.value
PICK = TxnType.PICK.value
MOVE = TxnType.MOVE.value
ADJUSTMENT = TxnType.ADJUSTMENT.value
CYCLE_COUNT = TxnType.CYCLE_COUNT.value
RETURN = TxnType.RETURN.value

ROW_FIELDS = ("ts", "type", "sku", "qty", "uom", "location", "to_location", "user_id",
              "device_id", "weight_kg", "expected_qty", "reason_code", "ref", "lot", "expiry",
              "note")

Shift = tuple[str, str, int]
"""A physical movement: (sku, location, signed eaches)."""


class Ledger:
    """Append-only log of posted rows plus the system and physical balances.

    Args:
        master_case_qty: case quantity per the item master (system conversion).
        true_case_qty: eaches really in a case (physical conversion); mutable, because a
            supplier may change its pack.
    """

    def __init__(self, master_case_qty: dict[str, int], true_case_qty: dict[str, int]) -> None:
        self.master_case_qty = master_case_qty
        self.true_case_qty = true_case_qty
        self.rows: list[tuple] = []
        self.system: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.physical: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.system_total: defaultdict[str, int] = defaultdict(int)

    def eaches(self, sku: str, qty: int, uom: str, *, true: bool) -> int:
        """Convert a quantity to eaches with the true or the master case quantity."""
        if uom != "CS":
            return qty
        return qty * (self.true_case_qty if true else self.master_case_qty)[sku]

    def post(self, ts: int, type_: str, sku: str, qty: int | float, location: str, user: str,
             *, uom: str = "EA", to: str | None = None, device: str | None = None,
             weight: float | None = None, expected: float | None = None,
             reason: str | None = None, ref: str | None = None, lot: str | None = None,
             expiry: str | None = None, note: str | None = None,
             physical: list[Shift] | None = None) -> int:
        """Append one row and move both balances; returns the row's sequence number.

        Args:
            ts: seconds since the simulation start.
            type_: contract transaction type.
            sku: item.
            qty: quantity in ``uom`` (signed for ADJUSTMENT, counted qty for CYCLE_COUNT).
            location: source or place of the event.
            user: operator.
            uom: EA or CS.
            to: destination (PUTAWAY, MOVE).
            device: RF gun, scale or terminal.
            weight: measured weight (kg).
            expected: ASN quantity or system quantity at count time.
            reason: adjustment reason code.
            ref: PO, ASN, order or task id.
            lot: lot number.
            expiry: lot expiry date (ISO).
            note: operator free text.
            physical: where the goods really moved; None means the same as the record.
        """
        seq = len(self.rows)
        self.rows.append((ts, type_, sku, qty, uom, location, to, user, device, weight,
                          expected, reason, ref, lot, expiry, note))
        sign = BALANCE_SIGN[type_]
        if sign:
            e = self.eaches(sku, int(qty), uom, true=False)
            self.system[(sku, location)] += sign * e
            if to is not None:
                self.system[(sku, to)] += e
            if type_ in (RECEIPT, RETURN, ADJUSTMENT, PICK):
                self.system_total[sku] += sign * e
        if physical is None:
            if sign:
                e = self.eaches(sku, int(qty), uom, true=True)
                self.physical[(sku, location)] += sign * e
                if to is not None:
                    self.physical[(sku, to)] += e
        else:
            self.shift(physical)
        return seq

    def shift(self, moves: list[Shift]) -> None:
        """Move goods physically without any record (theft, a mis-slot, an unseen breakage)."""
        for sku, loc, delta in moves:
            self.physical[(sku, loc)] += delta
