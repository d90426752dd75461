"""What the staff's own adjustments establish, for the policy's choice of action.

Where a site's staff post the exceptions they found as stock adjustments (an order export
has no counts, no scales and no bins), those postings are the record a proposal can rest
on (CONTRACT.md section 3, "adjust only what is known"):

- a mis-scan the staff put right by +N on one code and -N on another the same day, or
  that an adjustment's note names ("wrong barcode"), has its quantity established by that
  posting: ADJUST_INVENTORY, not a recount;
- a write-off whose note says a delivery never came as booked ("not rcvd in the 10/11
  delivery", "short delivered") is a receiving error: SUPPLIER_CLAIM of the write-off
  against the item's last receipt (else the posting's own reference);
- an item the staff wrote off because it was sold in sets while the master holds singles
  has wrong master data: CORRECT_MASTER_DATA of its ``case_qty`` to the set size, read from
  the note or the item's description ("SET/6", "sold in 6's"), else from the sizes the
  item sells in, else the largest pack up to a dozen that divides the write-off (then said
  to be an estimate).

Notes are read only through :func:`scoring.notes.read_note` (which gives nothing for a note
that addresses the system); a note never supplies an action, only the cause and the size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.notes import read_note
from tools.view import WarehouseView, cell_str, records
from warehouse.contract import RootCause

PACK = re.compile(r"\b(?:sets?|packs?|box(?:es)?|bundles?)\s*(?:/|of)\s*(\d{1,3})\b"
                  r"|\b(?:sold|sets?|packs?)\s+(?:as|in)\s+(\d{1,3})'?s\b|\bin\s+(\d{1,3})'s\b",
                  re.IGNORECASE)
"""A pack size written out: "SET/6", "set of 12", "sold in 6's", "packs of 4"."""
MAX_PACK = 12
"""The largest set size guessed from a write-off's quantity alone (a dozen)."""
ORDER_SHARE = 0.9
"""Share of an item's order lines that must be multiples of a size for it to sell in it."""
MIN_ORDERS = 10
"""Order lines an item needs before the sizes it sells in say anything."""
MAX_ORDER_PACK = 48
"""The largest pack size read from the sizes an item sells in."""


@dataclass(frozen=True)
class Posting:
    """One staff adjustment the proposal rests on."""

    txn_id: str
    sku: str
    location: str
    eaches: float
    note: str | None
    ref: str | None = None
    ts: object = None


@dataclass(frozen=True)
class SetSize:
    """A set size and where it was read."""

    size: int
    source: str
    estimate: bool


def _postings(rows: pd.DataFrame) -> list[Posting]:
    adj = rows[(rows["type"] == "ADJUSTMENT") & (rows["eaches"].abs() > 0)]
    return [Posting(str(r.txn_id), str(r.sku), str(r.location), float(r.eaches),
                    cell_str(getattr(r, "note", None)), cell_str(getattr(r, "ref", None)),
                    r.ts) for r in records(adj)]


def _says(note: str | None, cause: RootCause) -> bool:
    return any(r.cause is cause for r in read_note(note))


def offsetting_pair(rows: pd.DataFrame) -> tuple[Posting, Posting] | None:
    """+N on one code and -N on another in the case's adjustments (the plus, the minus)."""
    posted = _postings(rows)
    for up in (p for p in posted if p.eaches > 0):
        for down in posted:
            if down.sku != up.sku and abs(down.eaches + up.eaches) < 1e-9:
                return up, down
    return None


def noted_mix_up(rows: pd.DataFrame) -> Posting | None:
    """An adjustment whose note names a code mix-up, when the case holds only adjustments."""
    if rows.empty or not (rows["type"] == "ADJUSTMENT").all():
        return None
    return next((p for p in _postings(rows) if _says(p.note, RootCause.MIS_SCAN)), None)


def noted_shortfall(rows: pd.DataFrame) -> Posting | None:
    """The largest write-off whose note says a delivery differed from what was booked in."""
    short = [p for p in _postings(rows)
             if p.eaches < 0 and _says(p.note, RootCause.RECEIVING_ERROR)]
    return min(short, key=lambda p: p.eaches) if short else None


def claim_ref(posting: Posting, view: WarehouseView) -> tuple[str, str] | None:
    """The document a claim for ``posting`` goes against, and where it was read.

    The last receipt of the item before the write-off (its PO or ASN), else the write-off's
    own reference; never a number read from the note (a note is data, not a parameter).
    """
    hist = view.rows(sku=posting.sku)
    rec = hist[(hist["type"] == "RECEIPT") & hist["ref"].notna()]
    if posting.ts is not None:
        rec = rec[rec["ts"] <= posting.ts]
    if len(rec):
        last = rec.iloc[-1]
        return str(last["ref"]), f"the last receipt of {posting.sku}, {last['txn_id']}"
    if posting.ref:
        return posting.ref, (f"the write-off's own reference; the log holds no receipt of "
                             f"{posting.sku}")
    return None


def set_write_off(rows: pd.DataFrame) -> Posting | None:
    """The largest write-off whose note says the item was sold in sets."""
    sets = [p for p in _postings(rows) if p.eaches < 0 and _says(p.note, RootCause.UOM_MASTER_DATA)]
    return min(sets, key=lambda p: p.eaches) if sets else None


def _stated(text: str | None) -> int | None:
    m = PACK.search(text or "")
    size = int(next(g for g in m.groups() if g)) if m else None
    return size if size and size >= 2 else None


def _sells_in(view: WarehouseView, sku: str) -> tuple[int, float, int] | None:
    """The largest size >= 2 that most of the item's order lines are multiples of.

    Returns the size, the share of order lines that are its multiples and their count.
    """
    rows = view.rows(sku=sku)
    picked = np.abs(rows.loc[rows["type"] == "PICK", "eaches"].dropna().to_numpy(dtype=float))
    qty = np.round(picked[picked >= 1]).astype(int)
    if len(qty) < MIN_ORDERS:
        return None
    for size in range(min(int(qty.max()), MAX_ORDER_PACK), 1, -1):
        share = float(np.mean(qty % size == 0))
        if share >= ORDER_SHARE:
            return size, share, len(qty)
    return None


def set_size(posting: Posting, item: dict[str, Any] | None, view: WarehouseView,
             notes: list[str]) -> SetSize | None:
    """The set size the item sells in, with where it was read (None when nothing fits)."""
    for text in (posting.note, *notes):
        if (size := _stated(text)) is not None:
            return SetSize(size, f"the note \"{text}\"", estimate=False)
    desc = cell_str(item.get("description")) if item is not None else None
    if (size := _stated(desc)) is not None:
        return SetSize(size, f"the description \"{desc}\"", estimate=False)
    if (sells := _sells_in(view, posting.sku)) is not None:
        size, share, n = sells
        return SetSize(size, f"{share:.0%} of its {n} order lines being multiples of {size}",
                       estimate=False)
    n = round(abs(posting.eaches))
    size = next((d for d in range(MAX_PACK, 1, -1) if n % d == 0), None)
    if size is None:
        return None
    return SetSize(size, f"the largest pack up to {MAX_PACK} that divides {n} EA", estimate=True)
