"""How a site spells its identifiers: SKUs, locations, zones, users, devices, documents, txns.

The simulation names things one way (``SN48344``, ``A01-02-0``, ``OP123``, ``TX02667146``);
sites do not. :func:`rename` respells every identifier of a finished dataset by a scheme,
consistently across items, locations, transactions and labels, so that nothing downstream
can lean on the generator's spelling. Order is kept where a site's numbering would keep it
(SKUs, locations, documents and txn_ids are numbered in their original order, so look-alike
codes stay adjacent and txn_ids stay in time order); operators are numbered at random.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from warehouse.dataset import Dataset

Namer = Callable[[int], str]
FIRST = ("anna", "ben", "chen", "dara", "eli", "fatima", "goran", "hana", "ivo", "jon", "kemal",
         "lena", "mo", "nia", "oscar", "pia", "raj", "sara", "tomas", "uma", "vic", "wen")
LAST = ("berg", "costa", "dahl", "evans", "fox", "gill", "horvat", "ito", "jensen", "khan",
        "lund", "meyer", "novak", "ortiz", "patel", "quinn", "rossi", "silva", "tan", "weber")


def _base36(n: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while n or len(out) < width:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


def _person(i: int) -> str:
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    return f"{first}.{last}" + (str(i // (len(FIRST) * len(LAST))) if i >= 440 else "")


SCHEMES: dict[str, dict[str, Namer]] = {
    "numeric": {
        "sku": lambda i: f"{310_000 + 3 * i}", "location": lambda i: f"{10_001 + i}",
        "zone": lambda i: f"Z{i + 1:02d}", "user": lambda i: f"{5_100 + i}",
        "device": lambda i: f"{900 + i}", "ref": lambda i: f"{4_500_000_000 + 7 * i}",
        "txn": lambda i: f"{70_000_000 + i}",
    },
    "verbose": {
        "sku": lambda i: f"ITEM-{i + 1:05d}", "location": lambda i: f"LOC/{i + 1:05d}",
        "zone": lambda i: f"AREA {i + 1}", "user": _person,
        "device": lambda i: f"HANDHELD-{i + 1:03d}", "ref": lambda i: f"DOC-{i + 1:07d}",
        "txn": lambda i: f"evt-{i + 1:09x}",
    },
    "compact": {
        "sku": lambda i: _base36(46_656 + 37 * i, 4), "location": lambda i: f"L{i:04d}",
        "zone": lambda i: chr(ord("p") + i % 10) + ("" if i < 10 else str(i // 10)),
        "user": lambda i: f"u{i + 3}", "device": lambda i: f"d{i + 11}",
        "ref": lambda i: f"r{i + 1:06d}", "txn": lambda i: f"t{i:07d}",
    },
}


def _mapping(values: pd.Series | np.ndarray | list, namer: Namer,
             rng: np.random.Generator | None = None) -> dict[str, str]:
    """Old -> new names for the distinct non-missing ``values`` (sorted, or shuffled by rng)."""
    distinct = sorted({v for v in pd.Series(values).dropna().astype(str) if v and v != "nan"})
    if rng is not None:
        distinct = [distinct[i] for i in rng.permutation(len(distinct))]
    return {v: namer(i) for i, v in enumerate(distinct)}


def _apply(col: pd.Series, mapping: dict[str, str]) -> pd.Series:
    return col.map(lambda v: mapping.get(v, v) if isinstance(v, str) else v)


def rename(data: Dataset, scheme: str, seed: int) -> Dataset:
    """``data`` with every identifier respelled by ``scheme`` ("reference" keeps them)."""
    if scheme == "reference" or scheme not in SCHEMES:
        return data
    names = SCHEMES[scheme]
    rng = np.random.default_rng([seed, 7])
    items, locs, tx = data.items.copy(), data.locations.copy(), data.transactions.copy()
    sku = _mapping(items["sku"], names["sku"])
    loc = _mapping(locs["location_id"], names["location"])
    zone = _mapping(locs["zone"], names["zone"])
    user = _mapping(tx["user_id"], names["user"], rng)
    device = _mapping(tx["device_id"], names["device"], rng)
    ref = _mapping(tx["ref"], names["ref"])
    txn = {old: names["txn"](i) for i, old in enumerate(tx["txn_id"].astype(str))}
    items["sku"] = _apply(items["sku"], sku)
    items["home_location"] = _apply(items["home_location"], loc)
    locs["location_id"] = _apply(locs["location_id"], loc)
    locs["zone"] = _apply(locs["zone"], zone)
    for col, mapping in (("sku", sku), ("location", loc), ("to_location", loc),
                         ("user_id", user), ("device_id", device), ("ref", ref), ("txn_id", txn)):
        tx[col] = _apply(tx[col], mapping)
    labels = data.labels
    if labels is not None:
        labels = labels.copy()
        labels["txn_ids"] = [" ".join(txn.get(t, t) for t in str(ids).split())
                             for ids in labels["txn_ids"]]
        labels["sku"] = _apply(labels["sku"], sku)
        labels["location"] = _apply(labels["location"], loc)
    return Dataset(items=items, locations=locs, transactions=tx, labels=labels,
                   extras=data.extras)
