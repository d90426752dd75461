"""The transaction frame every detector reads: contract columns, normalised and enriched.

One vectorised pass joins the item master and the location table onto the log, converts
quantities to eaches, turns times into integer seconds and computes the running system
balance per (SKU, location). Columns a messy export lacks are added as missing, so detectors
can ask what the data supports instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from warehouse.contract import BALANCE_SIGN
from warehouse.dataset import Dataset

STRING_COLUMNS = ("txn_id", "type", "sku", "uom", "location", "to_location", "user_id",
                  "device_id", "reason_code", "ref", "note")
NUMBER_COLUMNS = ("qty", "weight_kg", "expected_qty")
# location roles (contract section 1): storage holds stock; the others hold it in passage
STORAGE_TYPES = frozenset({"PICK", "RESERVE", "BULK", "CAGE"})
PASSAGE_TYPES = frozenset({"DOCK", "STAGING", "RETURNS", "QUARANTINE"})


@dataclass
class Catalog:
    """Item and location lookups the detectors share.

    Attributes:
        items: item master indexed by sku (case_qty, unit_weight_kg, unit_cost, home).
        locations: locations indexed by location_id (type, x_m, y_m, max_weight_kg).
        lookalike_group: sku -> look-alike group key (description without size tokens).
    """

    items: pd.DataFrame
    locations: pd.DataFrame
    lookalike_group: pd.Series
    _groups: dict[str, list[str]] | None = field(default=None, init=False, repr=False)
    _at: dict[str, dict[object, int]] = field(default_factory=dict, init=False, repr=False)

    @staticmethod
    def from_dataset(data: Dataset) -> Catalog:
        """Index the item master and locations of ``data`` (missing columns become NaN)."""
        items = data.items.copy()
        for col in ("case_qty", "unit_weight_kg", "unit_cost"):
            items[col] = pd.to_numeric(items[col], errors="coerce") if col in items else np.nan
        for col in ("description", "category", "home_location"):
            if col not in items:
                items[col] = None
        items = items.drop_duplicates("sku", keep="last").set_index("sku")
        items["case_qty"] = items["case_qty"].where(items["case_qty"] >= 1)
        locs = data.locations.copy()
        for col in ("x_m", "y_m", "level", "max_weight_kg"):
            locs[col] = pd.to_numeric(locs[col], errors="coerce") if col in locs else np.nan
        if "type" not in locs:
            locs["type"] = None
        locs = locs.drop_duplicates("location_id", keep="last").set_index("location_id")
        key = lookalike_keys(items["description"]) + "|" + items["category"].fillna("").astype(
            str)
        return Catalog(items=items, locations=locs, lookalike_group=key)

    def lookalikes(self, sku: str) -> list[str]:
        """Other SKUs of ``sku``'s look-alike group."""
        if self._groups is None:  # built on first use: online scoring asks once per event
            grp = self.lookalike_group.dropna()
            self._groups = {}
            for member, key in zip(grp.index, grp.to_numpy(), strict=True):
                self._groups.setdefault(key, []).append(member)
        key = self.lookalike_group.get(sku)
        if not isinstance(key, str):
            return []
        return [m for m in self._groups.get(key, ()) if m != sku]

    def positions(self, table: str, keys: np.ndarray) -> np.ndarray:
        """Row of each key in ``items`` or ``locations`` (-1 when unknown), plus -1 at the end.

        The key -> row dictionaries are built once per catalog (online scoring looks up a
        handful of keys per event).
        """
        at = self._at.get(table)
        if at is None:
            index = (self.items if table == "items" else self.locations).index
            at = self._at[table] = {k: i for i, k in enumerate(index.tolist())}
        return np.array([at.get(k, -1) for k in keys.tolist()] + [-1], dtype=np.int64)


def lookalike_keys(descriptions: pd.Series) -> pd.Series:
    """Look-alike group key per item: its description's words without the size.

    Sizes are the words that hold a digit ("330ml", "1L"), and a last word that varies
    within the catalogue: where two items' descriptions share all words but the last
    ("Screws small", "Screws large") or one is the other without it ("Smartwatch" and
    "Smartwatch Pro"), that word names the variant. A stem of at least two words is
    required, so "Acme Cola" and "Acme Tea" stay apart (the brand alone is no look-alike).
    Missing where nothing but sizes is left.
    """
    desc = descriptions.fillna("").astype(str).str.lower()
    words = desc.str.replace(r"\S*\d\S*", " ", regex=True).str.split()
    full = words.str.join(" ")
    stem = words.map(lambda w: " ".join(w[:-1]) if len(w) > 2 else None)
    # a stem is a family when it is an item's whole key, or ends two different keys
    ends = full.groupby(stem).nunique()
    family = set(full) | set(ends.index[ends >= 2])
    key = full.where(~stem.isin(family) | stem.isna(), stem)
    return key.where(key.str.len() > 0)


def prepare(tx: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Normalise a transaction log and join what detectors need onto every row.

    Every key column is factorised once; the item master and location table are joined by
    looking up the (few) distinct keys and taking by integer code, never by string merges.

    Args:
        tx: contract transactions (``ts`` tz-aware or ISO strings; other columns optional).
        catalog: the item and location lookups.

    Returns:
        A new frame in time order (stable), with ``t`` (epoch seconds), ``eaches``,
        ``exp_eaches`` (expected_qty in eaches), item and location attributes, ``row``
        (position in the returned frame) and integer codes ``sku_code``, ``loc_code``,
        ``to_code`` (one code space for location and to_location), ``user_code`` and
        ``device_code`` (-1 where missing).
    """
    n = len(tx)
    ts = pd.to_datetime(tx["ts"], utc=True, format="ISO8601").astype("datetime64[ns, UTC]")
    t = ts.astype("int64").to_numpy() // 1_000_000_000
    order = np.argsort(t, kind="stable")
    codes: dict[str, np.ndarray] = {}
    uniques: dict[str, np.ndarray] = {}
    for col in STRING_COLUMNS:
        if col == "to_location":
            continue
        if col == "location":
            both = pd.concat([_column(tx, "location", n), _column(tx, "to_location", n)],
                             ignore_index=True)
            c, u = _text_codes(both)
            codes["location"], codes["to_location"] = c[:n][order], c[n:][order]
            uniques["location"] = uniques["to_location"] = u
            continue
        c, u = _text_codes(_column(tx, col, n))
        if col in ("type", "uom"):
            c, u = _text_codes(np.array([x.upper() for x in u] + [None], dtype=object)[c])
        if col == "uom":
            u = np.append(u, "EA") if (c < 0).any() else u
            c = np.where(c < 0, len(u) - 1, c)
        codes[col], uniques[col] = c[order], u
    out: dict[str, Any] = {
        col: _take_text(uniques[col], codes[col], always=col in ("type", "uom"))
        for col in STRING_COLUMNS
    }
    for col in NUMBER_COLUMNS:
        out[col] = (
            pd.to_numeric(tx[col], errors="coerce").to_numpy(dtype="float64")[order]
            if col in tx
            else np.full(n, np.nan)
        )
    out["t"] = t[order]
    out["ts"] = ts.array.take(order) if n else ts.to_numpy()
    if "context_only" in tx:
        out["context_only"] = tx["context_only"].fillna(False).to_numpy(dtype=bool)[order]
    items, locs = catalog.items, catalog.locations
    item = catalog.positions("items", uniques["sku"])[codes["sku"]]
    for col, src in (("case_qty", "case_qty"), ("unit_weight", "unit_weight_kg"),
                     ("unit_cost", "unit_cost")):
        out[col] = _take_number(items[src], item)
    out["home"] = _map_text(items["home_location"], item)
    cs = codes["uom"] == _code_of(uniques["uom"], "CS")
    factor = np.where(cs, out["case_qty"], 1.0)
    out["eaches"] = out["qty"] * factor
    out["exp_eaches"] = out["expected_qty"] * factor
    at_loc = catalog.positions("locations", uniques["location"])
    src, dst = at_loc[codes["location"]], at_loc[codes["to_location"]]
    home_of_item = locs.index.get_indexer(pd.Index(items["home_location"], dtype=object))
    home = np.append(home_of_item, -1)[item]
    for col, pos in (("loc_type", src), ("dest_type", dst), ("home_type", home)):
        out[col] = _map_text(locs["type"], pos)
    out["x"] = _take_number(locs["x_m"], src)
    out["y"] = _take_number(locs["y_m"], src)
    out["dest_max_w"] = _take_number(locs["max_weight_kg"], dst)
    sign = np.array([float(BALANCE_SIGN.get(x, 0)) for x in uniques["type"]] + [0.0])
    out["sign"] = sign[codes["type"]]
    out["row"] = np.arange(n)
    out["sku_code"] = codes["sku"]
    out["loc_code"] = codes["location"]
    out["to_code"] = codes["to_location"]
    out["user_code"] = codes["user_id"]
    out["device_code"] = codes["device_id"]
    return pd.DataFrame(out)


def _column(tx: pd.DataFrame, col: str, n: int) -> pd.Series:
    return tx[col].reset_index(drop=True) if col in tx else pd.Series([None] * n, dtype=object)


def _text_codes(
    values: pd.Series | np.ndarray, *, empty_missing: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for missing, and for empty when ``empty_missing``) and their texts."""
    c, u = pd.factorize(values, use_na_sentinel=True)
    u = np.asarray(u, dtype=object)
    if pd.api.types.infer_dtype(u, skipna=False) in ("string", "empty") and not (
        empty_missing and (u == "").any()
    ):
        return c.astype(np.int64), u
    text = np.array([None if empty_missing and str(x) == "" else str(x) for x in u] + [None],
                    dtype=object)
    c2, u2 = pd.factorize(text[c], use_na_sentinel=True)
    return c2.astype(np.int64), np.asarray(u2, dtype=object)


def _take_text(
    uniques: np.ndarray, codes: np.ndarray, *, always: bool = False
) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Strings (NaN where missing) from texts and codes; all None if none is (unless ``always``).

    The all-None case matches what the log gives for a column it never fills.
    """
    if not always and not (codes >= 0).any():
        return np.full(len(codes), None, dtype=object)
    return pd.array(uniques, dtype="str").take(codes, allow_fill=True)


def _take_number(col: pd.Series, pos: np.ndarray) -> np.ndarray:
    vals = np.append(col.to_numpy(dtype="float64", na_value=np.nan), np.nan)
    return vals[pos]


def _map_text(col: pd.Series, pos: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A lookup column's values by position (NaN at -1), as ``Series.map`` gives them."""
    return col.array.take(pos, allow_fill=True)


def _code_of(uniques: np.ndarray, value: str) -> int:
    hit = np.flatnonzero(uniques == value)
    return int(hit[0]) if len(hit) else -2
