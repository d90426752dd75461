"""What approving would write to the WMS, exactly: where, before -> after, and the money.

Shown on the ticket page beside the decision and again in the confirm step, so nobody
approves a write they have not seen. Balances are the system balance Tally's ledger holds
now; money is eaches x the item's unit cost, signed (+ found, - written off).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel

from api.web.balance_plot import balance_frame
from warehouse.contract import Action, ActionType

A = ActionType


class WritePreview(BaseModel):
    """The exact write an approval would send, in words a supervisor checks."""

    lines: list[str]
    money: float | None = None
    changes_stock: bool = False


def current_balance(ledger: pd.DataFrame, sku: str, location: str) -> float | None:
    """The system balance of ``sku`` at ``location`` after the last row that touched it."""
    if ledger.empty:
        return None
    frame = balance_frame(ledger, sku, location)
    return float(frame["balance"].iloc[-1]) if len(frame) else None


def _qty(value: Any) -> str:
    number = float(value)
    return f"{number:+g}" if number else "0"


def _num(value: float) -> str:
    return f"{value:g}"


def _txn(ledger: pd.DataFrame, txn_id: str) -> str:
    rows = ledger[ledger["txn_id"] == txn_id] if not ledger.empty else ledger
    if rows.empty:
        return txn_id
    r = rows.iloc[0]
    return f"{txn_id} ({r['type']} {_num(float(r['qty']))} {r.get('uom') or 'EA'} of {r['sku']} " \
           f"at {r['location']})"


def preview_write(action: Action, ledger: pd.DataFrame, unit_cost: float | None,
                  describe: Any = lambda sku: None) -> WritePreview:
    """The write ``action`` would make, against the balances in ``ledger``.

    Args:
        action: the ticket's current action (the one an approval binds to).
        ledger: the log with balance columns.
        unit_cost: cost of one each of the ticket's SKU, None if unknown.
        describe: the item master's description of a SKU, or None.
    """
    p = action.params

    def item(sku: str) -> str:
        name = describe(sku)
        return f"{sku} ({name})" if name else sku

    kind = ActionType(action.type)
    if kind is A.ADJUST_INVENTORY:
        delta = float(p["qty_delta"])
        before = current_balance(ledger, p["sku"], p["location"])
        where = f"{p['location']}: " + (f"{_num(before)} -> {_num(before + delta)} EA"
                                        if before is not None else f"{_qty(delta)} EA")
        money = delta * unit_cost if unit_cost is not None else None
        return WritePreview(lines=[f"{where} of {item(p['sku'])}, reason {p['reason_code']}"],
                            money=money, changes_stock=True)
    if kind is A.CORRECT_MASTER_DATA:
        return WritePreview(lines=[f"Item master of {item(p['sku'])}: {p['field']} "
                                   f"{p.get('old', 'current')} -> {p['new']}"])
    if kind is A.RESLOT:
        held = current_balance(ledger, p["sku"], p["from_location"])
        moved = f"{_num(held)} EA " if held else ""
        return WritePreview(lines=[f"Move {moved}of {item(p['sku'])} from {p['from_location']} "
                                   f"to {p['to_location']}; {p['to_location']} becomes its home"],
                            money=held * unit_cost if held and unit_cost else None,
                            changes_stock=True)
    if kind is A.VOID_DUPLICATE:
        return WritePreview(lines=[f"Void transaction {_txn(ledger, p['txn_id'])}"],
                            changes_stock=True)
    if kind is A.SUPPLIER_CLAIM:
        delta = float(p["qty_delta"])
        return WritePreview(lines=[f"Supplier claim on {p['ref']}: {_qty(delta)} EA of "
                                   f"{item(p['sku'])}"],
                            money=delta * unit_cost if unit_cost is not None else None)
    if kind is A.RECOUNT:
        where = ", ".join(p.get("locations") or [])
        what = f" for {item(p['sku'])}" if p.get("sku") else ""
        return WritePreview(lines=[f"Count task at {where}{what}; no balance changes until "
                                   f"the count comes back"])
    if kind is A.INVESTIGATE:
        named = [f"{k.replace('_id', '')} {p[k]}" for k in ("sku", "location", "user_id")
                 if p.get(k)]
        return WritePreview(lines=[f"Investigation of {', '.join(named) or 'the incident'}; "
                                   f"nothing in the stock records changes"])
    if kind is A.QUALITY_HOLD:
        return WritePreview(lines=[f"Quality hold on {item(p['sku'])} at {p['location']}"],
                            changes_stock=False)
    return WritePreview(lines=["Nothing is written to the WMS"])
