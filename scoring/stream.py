"""Cached state for online scoring: the recent log around each SKU, scanner and user.

The window keeps, per SKU, the rows of the last ``window_s`` seconds plus the balances
before them (older rows are folded into ``opening``); per scanner the last few minutes;
per user their write-offs of the last two weeks (as context only: their effect on balances
is already folded in). ``context(event)`` is the small log the batch pipeline needs to
score the event exactly as it would in the full log up to it; ``around(event)`` the SKU's
log after it too, and ``held`` the events waiting for it (:mod:`scoring.settle`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.balances import closing_balances
from scoring.frame import Catalog
from scoring.types import Flag
from warehouse.contract import BALANCE_SIGN, TRANSACTION_COLUMNS, Transaction

SCANNER_S = 600
WRITEOFF_S = 15 * 86_400


@dataclass
class Held:
    """An event whose flags wait for later rows (:mod:`scoring.settle`).

    Attributes:
        row: the event as remembered (``normalise``).
        due: epoch seconds after which its verdict is final.
        codes: the codes to settle then, read from the log around it.
        flags: its flags of the other codes, final when it was scored.
    """

    row: dict[str, Any]
    due: float
    codes: frozenset[str]
    flags: list[Flag] = field(default_factory=list)


class EventWindow:
    """Recent rows by SKU, scanner and user, plus the balances before the SKU windows.

    Args:
        window_s: how far back the per-SKU context reaches (seconds).
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.by_sku: defaultdict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self.by_scanner: defaultdict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self.writeoffs: defaultdict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self.balance: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.neg_since: dict[tuple[str, str], float] = {}
        self.pairs: defaultdict[str, dict[tuple[str, str], None]] = defaultdict(dict)
        self.held: list[Held] = []
        self.last_t = float("-inf")

    @staticmethod
    def from_frame(frame: pd.DataFrame, window_s: float) -> EventWindow:
        """The window at the end of a prepared history frame (with balance columns)."""
        w = EventWindow(window_s)
        if len(frame) == 0:
            return w
        cut = int(frame["t"].max()) - window_s
        old = frame[frame["t"] <= cut]
        closing = (
            closing_balances(old) if len(old) else pd.DataFrame(columns=["balance", "neg_since"])
        )
        for (sku, loc), bal, since in zip(
            closing.index, closing["balance"], closing["neg_since"], strict=True
        ):
            w.balance[(sku, loc)] = float(bal)
            w.pairs[sku][(sku, loc)] = None
            if since == since:
                w.neg_since[(sku, loc)] = float(since)
        for rec in _records(frame[frame["t"] > cut]):
            w._remember(rec)
        wo = frame[
            (frame["t"] <= cut)
            & (frame["t"] > cut - WRITEOFF_S)
            & (frame["type"] == "ADJUSTMENT")
            & (frame["qty"] < 0)
        ]
        for rec in _records(wo):
            w.writeoffs[str(rec.get("user_id"))].append(rec)
        return w

    @property
    def opening(self) -> pd.DataFrame:
        """Balances (and negative-since times) before the cached rows, by (sku, location)."""
        return self._opening(list(self.balance))

    def opening_for(self, sku: str) -> pd.DataFrame:
        """Opening balances of one SKU's locations."""
        return self._opening(list(self.pairs.get(sku, ())))

    def _opening(self, keys: list[tuple[str, str]]) -> pd.DataFrame:
        if not keys:
            return pd.DataFrame(columns=["balance", "neg_since"], dtype="float64")
        return pd.DataFrame(
            {
                "balance": [self.balance[k] for k in keys],
                "neg_since": [self.neg_since.get(k, np.nan) for k in keys],
            },
            index=pd.MultiIndex.from_tuples(keys),
        )

    @staticmethod
    def normalise(event: Mapping[str, Any]) -> dict[str, Any]:
        """Validate an event against the contract and return it as a plain row."""
        row = Transaction.model_validate(dict(event)).model_dump(mode="json")
        row["_t"] = (
            int(pd.Timestamp(row["ts"]).tz_convert("UTC").value // 10**9)
            if pd.Timestamp(row["ts"]).tzinfo
            else int(pd.Timestamp(row["ts"], tz="UTC").value // 10**9)
        )
        return row

    def rows(self) -> pd.DataFrame:
        """Every cached row (write-offs older than the SKU window as context only)."""
        recs = {r["txn_id"]: r for dq in self.by_sku.values() for r in dq}
        for dq in self.writeoffs.values():
            for r in dq:
                if r["txn_id"] not in recs:
                    recs[r["txn_id"]] = {**r, "context_only": True}
        return self._frame(list(recs.values()))

    def context(self, row: Mapping[str, Any], catalog: Catalog) -> pd.DataFrame:
        """The event plus the cached rows that the detectors read around it."""
        recs = self._sku_rows(row, catalog)
        scanner = row.get("device_id") or row.get("user_id")
        for r in self.by_scanner.get(str(scanner), ()):
            recs.setdefault(r["txn_id"], {**r, "context_only": r["sku"] != row["sku"]})
        recs.pop(row["txn_id"], None)
        return self._frame([*recs.values(), dict(row)])

    def around(self, row: Mapping[str, Any], catalog: Catalog) -> pd.DataFrame:
        """A remembered event amid its SKU's cached rows, those after it included.

        What the rules that read later rows (:mod:`scoring.settle`) need to settle it.
        """
        return self._frame(list(self._sku_rows(row, catalog).values()))

    def _sku_rows(self, row: Mapping[str, Any], catalog: Catalog) -> dict[str, dict[str, Any]]:
        """The SKU's cached rows, its look-alikes' counts, the user's recent write-offs."""
        recs: dict[str, dict[str, Any]] = {r["txn_id"]: r for r in self.by_sku.get(row["sku"], ())}
        for other in catalog.lookalikes(row["sku"]):  # mirrored counts on look-alikes
            for r in self.by_sku.get(other, ()):
                if r.get("type") == "CYCLE_COUNT":
                    recs.setdefault(r["txn_id"], {**r, "context_only": True})
        for r in self.writeoffs.get(str(row.get("user_id")), ()):
            recs.setdefault(r["txn_id"], {**r, "context_only": True})
        return recs

    def add(self, row: Mapping[str, Any], catalog: Catalog) -> None:
        """Remember an event, folding rows that left the SKU window into the balances."""
        rec = dict(row)
        self._remember(rec)
        dq = self.by_sku[rec["sku"]]
        cut = rec["_t"] - self.window_s
        while dq and dq[0]["_t"] <= cut:
            self._fold(dq.popleft(), catalog)

    def _remember(self, rec: dict[str, Any]) -> None:
        self.last_t = max(self.last_t, float(rec["_t"]))
        self.by_sku[rec["sku"]].append(rec)
        scanner = rec.get("device_id") or rec.get("user_id")
        if scanner is not None:
            dq = self.by_scanner[str(scanner)]
            dq.append(rec)
            while dq and dq[0]["_t"] < rec["_t"] - SCANNER_S:
                dq.popleft()
        if rec.get("type") == "ADJUSTMENT" and (rec.get("qty") or 0) < 0:
            dq = self.writeoffs[str(rec.get("user_id"))]
            dq.append(rec)
            while dq and dq[0]["_t"] < rec["_t"] - WRITEOFF_S:
                dq.popleft()

    def _fold(self, rec: Mapping[str, Any], catalog: Catalog) -> None:
        qty = float(rec.get("qty") or 0.0)
        if rec.get("uom") == "CS":
            cq = catalog.items["case_qty"].get(rec["sku"], np.nan)
            qty = qty * float(cq) if cq == cq else 0.0
        sign = float(BALANCE_SIGN.get(str(rec.get("type")), 0))
        self._shift((rec["sku"], rec["location"]), sign * qty, rec["_t"])
        if rec.get("to_location") and rec.get("type") in ("PUTAWAY", "MOVE"):
            self._shift((rec["sku"], rec["to_location"]), qty, rec["_t"])

    def _shift(self, pair: tuple[str, str], delta: float, t: int) -> None:
        before = self.balance[pair]
        self.pairs[pair[0]][pair] = None
        after = before + delta
        self.balance[pair] = after
        if after >= 0:
            self.neg_since.pop(pair, None)
        elif before >= 0:
            self.neg_since[pair] = float(t)

    @staticmethod
    def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(records)
        for col in TRANSACTION_COLUMNS:
            if col not in frame:
                frame[col] = None
        if "context_only" not in frame:
            frame["context_only"] = False
        frame["context_only"] = frame["context_only"].fillna(False).astype(bool)
        return frame.sort_values("_t", kind="stable").drop(columns="_t").reset_index(drop=True)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Contract rows of a prepared frame as plain dicts (None where missing), plus ``_t``."""
    cols = [c for c in TRANSACTION_COLUMNS if c in frame]
    data = {c: frame[c].to_numpy(dtype=object, copy=True) for c in cols}
    data["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_numpy(dtype=object)
    data["_t"] = frame["t"].to_numpy(dtype=object)
    for values in data.values():
        values[pd.isna(values)] = None
    names = list(data)
    return [dict(zip(names, row, strict=True)) for row in zip(*data.values(), strict=True)]
