"""A read-only, indexed view of one warehouse dataset: what every tool queries.

Built once per dataset (or store snapshot): the perpetual ledger with running balances
(:func:`warehouse.ledger.with_balances`), the item master and locations keyed by id, and
row positions by SKU, location (source or destination), user, device and reference, so a
tool looks rows up without scanning the log.
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Callable, Iterator
from functools import cached_property, lru_cache
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from warehouse.contract import SAME_PAYLOAD
from warehouse.dataset import Dataset
from warehouse.ledger import with_balances
from warehouse.lookalikes import lookalike_index
from warehouse.rescans import rescan_flags

_KEYS = ("sku", "user_id", "device_id", "ref")
T = TypeVar("T")


class WarehouseView:
    """Indexes over a dataset for the read-only tools.

    Args:
        data: the dataset (a loader result or a store snapshot).

    Attributes:
        dataset: the dataset the view was built from.
        ledger: the transactions in time order with ``eaches``, ``bal_before``,
            ``bal_after``, ``dest_after`` and ``var`` (positional index 0..n-1, so the index
            of any slice, such as :meth:`txns` or :meth:`rows` return, is ledger positions).
        items: item master indexed by sku.
        locations: locations indexed by location_id.
    """

    def __init__(self, data: Dataset) -> None:
        self.dataset = data
        ledger = with_balances(data.transactions).reset_index(drop=True)
        # Row-wise lookups dominate the tools: plain object columns take rows far faster than
        # Arrow-backed strings, and hold the same values.
        for col in ledger.columns:
            if str(ledger[col].dtype) in ("str", "string"):
                ledger[col] = ledger[col].astype(object)
        self.ledger = ledger.copy()  # consolidated blocks: taking a few rows costs half
        self.items = data.items.drop_duplicates("sku", keep="last").set_index("sku", drop=False)
        self.locations = data.locations.drop_duplicates("location_id", keep="last").set_index(
            "location_id", drop=False)
        self._by: dict[str, dict[Any, np.ndarray]] = {
            key: cast("dict[Any, np.ndarray]", self.ledger.groupby(key, sort=False).indices)
            for key in _KEYS if key in self.ledger and self.ledger[key].notna().any()
        }
        n = len(self.ledger)
        keys = np.concatenate([self.ledger["location"].to_numpy(dtype=object),
                               self.ledger["to_location"].to_numpy(dtype=object)])
        valid = pd.notna(keys)
        pos = np.concatenate([np.arange(n), np.arange(n)])[valid]
        groups = pd.Series(pos).groupby(keys[valid], sort=False).indices
        self._by["location"] = {k: _sorted_unique(pos[v]) for k, v in groups.items()}
        self._memo: dict[str, Any] = {}
        self._first = first_positions(self.ledger["txn_id"].to_numpy(dtype=object))

    def rows(self, **where: str | None) -> pd.DataFrame:
        """Ledger rows matching every given key (sku, location, user_id, device_id, ref, type).

        A location matches a row's source or destination. Keys given as None are ignored.
        The keys narrow the ledger positions before any row is taken (a tool's filter on
        ``type`` costs an array comparison over the SKU's rows, not a frame's).
        """
        picked = self.positions(**where)
        return self.ledger if picked is None else self.ledger.iloc[picked]

    def positions(self, **where: str | None) -> np.ndarray | None:
        """Ledger positions (ascending) of the rows :meth:`rows` returns; None for all rows."""
        picked: np.ndarray | None = None
        for key, value in where.items():
            if value is None:
                continue
            if key not in ("location", "type", *_KEYS):
                raise ValueError(f"unknown key {key!r}")
            if picked is None and key == "type":
                picked = np.flatnonzero(self.column("type") == value)
            elif picked is None:
                picked = self._by.get(key, {}).get(value, np.empty(0, dtype=int))
            elif key == "location":  # filter the few rows picked, not a busy location's many
                picked = picked[(self.column("location")[picked] == value)
                                | (self.column("to_location")[picked] == value)]
            elif key in self._by or key == "type":
                picked = picked[self.column(key)[picked] == value]
            else:
                picked = picked[:0]
        return None if picked is None else np.sort(picked)

    def column(self, name: str) -> np.ndarray:
        """Ledger column ``name`` as a numpy array (built once; index it with positions)."""
        return self.memo(f"column:{name}", lambda: self.ledger[name].to_numpy())

    def position(self, txn_id: str) -> int | None:
        """The ledger position of ``txn_id`` (its first delivery), if present."""
        return self._first.get(txn_id)

    def txn(self, txn_id: str) -> pd.Series | None:
        """The ledger row of ``txn_id`` (its first delivery), if present."""
        pos = self._first.get(txn_id)
        return None if pos is None else self.ledger.iloc[pos]

    def txns(self, txn_ids: list[str]) -> pd.DataFrame:
        """Ledger rows of the known ids among ``txn_ids``, in time order."""
        pos = {p for t in txn_ids if (p := self._first.get(t)) is not None}
        return self.ledger.iloc[sorted(pos)]

    def item(self, sku: str) -> dict[str, Any] | None:
        """The item master row of ``sku`` (column -> value), if known."""
        return self._item_rows.get(sku)

    def location(self, location_id: str) -> dict[str, Any] | None:
        """The location row of ``location_id`` (column -> value), if known."""
        return self._location_rows.get(location_id)

    @cached_property
    def _item_rows(self) -> dict[str, dict[str, Any]]:
        # plain dicts: a lookup costs microseconds where a pandas .loc row costs a millisecond
        return dict(zip(self.items.index, self.items.to_dict("records"), strict=True))

    @cached_property
    def _location_rows(self) -> dict[str, dict[str, Any]]:
        return dict(zip(self.locations.index, self.locations.to_dict("records"), strict=True))

    def warm(self) -> WarehouseView:
        """Build the lazy indexes now, so a batch pays for them once before its first ticket."""
        for name in ("lookalikes", "_payload_groups", "rescanned", "location_arrays",
                     "_item_rows", "_location_rows", "quiet_hours"):
            getattr(self, name)
        return self

    def memo(self, name: str, build: Callable[[], T]) -> T:
        """A per-view cached aggregate (built by ``build`` on first use, then reused)."""
        if name not in self._memo:
            self._memo[name] = build()
        return self._memo[name]

    @cached_property
    def lookalikes(self) -> dict[str, list[str]]:
        """SKU -> SKUs whose descriptions share most words (built on first use)."""
        return lookalike_index(self.dataset.items)

    def same_payload(self, txn_id: str) -> pd.DataFrame:
        """Other rows with the payload of ``txn_id`` (:data:`warehouse.contract.SAME_PAYLOAD`)."""
        return self.ledger.iloc[self.same_payload_positions(txn_id)]

    def same_payload_positions(self, txn_id: str) -> np.ndarray:
        """Ledger positions (ascending) of the rows :meth:`same_payload` returns."""
        pos = self._first.get(txn_id)
        if pos is None:
            return np.empty(0, dtype=int)
        group, twins = self._payload_groups
        same = twins.get(int(group[pos]), np.empty(0, dtype=int))
        return same[self.column("txn_id")[same] != txn_id]

    @cached_property
    def payload_group(self) -> np.ndarray:
        """The payload group of every ledger row: rows in one group are one event's payload."""
        cols = [c for c in SAME_PAYLOAD if c in self.ledger]
        return self.ledger.groupby(cols, sort=False, dropna=False).ngroup().to_numpy()

    @cached_property
    def rescanned(self) -> np.ndarray:
        """Per ledger row: the same scan was made on its device seconds before (a rescan)."""
        return rescan_flags(self.ledger)[0]

    @cached_property
    def _payload_groups(self) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """The payload group of every row, and group -> positions where two or more share one."""
        group = self.payload_group
        shared = np.flatnonzero(pd.Series(group).duplicated(keep=False).to_numpy())
        twins = cast("dict[int, np.ndarray]", pd.Series(shared).groupby(group[shared]).indices)
        return group, {int(g): shared[i] for g, i in twins.items()}

    @cached_property
    def location_arrays(self) -> dict[str, np.ndarray]:
        """Location ids, types, zones and floor coordinates as arrays (for neighbour search)."""
        locs = self.locations
        nan = np.full(len(locs), np.nan)
        return {
            "id": locs.index.to_numpy(dtype=object),
            "type": locs["type"].to_numpy(dtype=object) if "type" in locs else nan.astype(object),
            "zone": locs["zone"].to_numpy(dtype=object) if "zone" in locs else nan.astype(object),
            "x": pd.to_numeric(locs["x_m"], errors="coerce").to_numpy(dtype=float)
            if "x_m" in locs else nan,
            "y": pd.to_numeric(locs["y_m"], errors="coerce").to_numpy(dtype=float)
            if "y_m" in locs else nan,
        }

    @cached_property
    def hour_share(self) -> np.ndarray:
        """Share of the site's transactions in each UTC hour (24 values)."""
        hours = self.ledger["ts"].dt.hour.to_numpy()
        counts = np.bincount(hours, minlength=24).astype(float)
        return counts / max(counts.sum(), 1.0)

    @cached_property
    def quiet_hours(self) -> set[int]:
        """Hours in which the site does well under its average hourly volume: off-shift."""
        return {h for h, share in enumerate(self.hour_share) if share < 1 / 48}



def first_positions(ids: np.ndarray) -> dict[Any, int]:
    """Each id's first position in ``ids`` (keys in order of first appearance)."""
    first = ~pd.Series(ids).duplicated(keep="first").to_numpy()
    return dict(zip(ids[first].tolist(), np.flatnonzero(first).tolist(), strict=True))


def _sorted_unique(positions: np.ndarray) -> np.ndarray:
    """``np.unique`` of positions that come as two ascending runs (a merge, not a hash)."""
    ordered = np.sort(positions, kind="stable")
    keep = np.empty(len(ordered), dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def cell_float(value: object) -> float | None:
    """A frame cell as a float, None when missing or not a number."""
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def cell_str(value: object) -> str | None:
    """A frame cell as a non-empty string, None when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def records(frame: pd.DataFrame) -> Iterator[Any]:
    """``frame.itertuples()``: one row at a time, columns as attributes (cells untyped).

    The same tuples with the same cells (Python floats and ints, Timestamps), read through one
    object array rather than a Series per column, and the tuple type made once per columns.
    """
    row = _row_type(tuple(frame.columns))
    return map(row._make, zip(frame.index.tolist(), *frame.to_numpy(dtype=object).T,
                              strict=True))


def row_dicts(frame: pd.DataFrame) -> list[dict[Any, Any]]:
    """``frame.to_dict("records")``: the same dicts, read through one object array."""
    columns = list(frame.columns)
    return [dict(zip(columns, row, strict=True)) for row in frame.to_numpy(dtype=object)]


@lru_cache(maxsize=64)
def _row_type(columns: tuple[Any, ...]) -> Any:
    return namedtuple("Pandas", ["Index", *map(str, columns)], rename=True)  # noqa: PYI024


def iso(ts: Any) -> str:
    """A timestamp cell as ISO-8601 UTC text (seconds)."""
    return pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%M:%SZ")
