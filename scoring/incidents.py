"""Related flags become one incident: union-find over shared link keys within a window.

Every flag carries link keys (``sku:X``, ``bin:X@L``, ``ref:ASN1``, ``mirror:...``, ...).
Two flags with a common key are linked when they are close in time (the window depends on
the key's kind), and flags on the same transaction are always linked. Connected components
are the incidents, so a supervisor sees one ticket per problem; a per-key window, not a
global one, keeps unrelated problems apart.

Some reason codes name a cause that outlives any window: a variance in whole packs, the
same-sign variances of one SKU in many bins, a weight ratio that holds for every handler, a
dock weight off the master all point at the SKU's master data. Such a flag also carries the
key ``master:<its SKU>`` (:data:`MASTER_DATA_CODES`), so one SKU's wrong master data is
one incident however many weeks its symptoms span.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

DAY = 86_400
# how far apart (seconds) two flags sharing a key of this kind may be and still be linked
LINK_WINDOWS: dict[str, float] = {
    "sku": 4 * DAY, "bin": 5 * DAY, "ref": 3 * DAY, "txn": 10 * DAY, "mirror": 10 * DAY,
    "user": 14 * DAY, "device": 3600, "loc": 2 * DAY, "move": DAY,
    # the corrections of one code mix-up on both codes, posted in one sitting
    "mixup": 3 * 3600,
    "master": np.inf,
    # one cause behind every occurrence at the site (e.g. pattern:REPEATED_LINE_IN_REF)
    "pattern": np.inf,
}
MASTER_DATA_CODES = frozenset({
    "PACK_MULTIPLE", "SAME_SIGN_VARIANCES", "WEIGHT_RATIO_CONSTANT", "DOCK_WEIGHT_MISMATCH",
})
"""Reason codes whose cause is the flagged SKU's master data (pack size, unit weight)."""


def cause_keys(code: str, keys: list[str] | tuple[str, ...]) -> list[str]:
    """The keys a flag links by: its own, plus ``master:<SKU>`` for a master-data code."""
    if code not in MASTER_DATA_CODES:
        return list(keys)
    sku = next((k[4:] for k in keys if k.startswith("sku:")), None)
    return [*keys, f"master:{sku}"] if sku and f"master:{sku}" not in keys else list(keys)


def group(flag_frame: pd.DataFrame, t: np.ndarray,
          windows: Mapping[str, float] = LINK_WINDOWS) -> np.ndarray:
    """Incident number of every flag (0..k-1, numbered by first time, then first row).

    Args:
        flag_frame: flags with ``row`` and ``keys`` columns (and ``code``, for the keys a
            reason code implies: :func:`cause_keys`).
        t: epoch seconds of every flag.
        windows: link window per key kind.

    Returns:
        One incident number per flag.
    """
    n = len(flag_frame)
    if n == 0:
        return np.zeros(0, np.int64)
    keys = flag_frame["keys"].to_numpy()
    if "code" in flag_frame:
        keys = np.array([cause_keys(c, k) for c, k in zip(flag_frame["code"], keys, strict=True)]
                        + [[]], dtype=object)[:-1]
    rows = flag_frame["row"].to_numpy()
    lens = np.fromiter((len(k) for k in keys), np.int64, n)
    ex = pd.DataFrame({
        "i": np.repeat(np.arange(n), lens),
        "k": [k for ks in keys for k in ks],
    })
    ex = pd.concat([ex, pd.DataFrame({"i": np.arange(n), "k": ["row:" + str(r) for r in rows]})])
    ex["t"] = t[ex["i"].to_numpy()]
    kind = ex["k"].str.split(":", n=1).str[0]
    ex["w"] = kind.map(dict(windows)).fillna(0.0).to_numpy()
    ex.loc[kind.to_numpy() == "row", "w"] = np.inf
    ex = ex.sort_values(["k", "t", "i"], kind="stable")
    k = ex["k"].to_numpy()
    tt = ex["t"].to_numpy()
    ii = ex["i"].to_numpy()
    link = (k[1:] == k[:-1]) & (tt[1:] - tt[:-1] <= ex["w"].to_numpy()[1:])
    a, b = ii[:-1][link], ii[1:][link]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    first = pd.DataFrame({"lab": labels, "t": t, "row": rows}).groupby("lab")[["t", "row"]].min()
    order = first.sort_values(["t", "row"]).index.to_numpy()
    renum = np.empty(len(order), np.int64)
    renum[order] = np.arange(len(order))
    return renum[labels]
