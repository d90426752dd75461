"""Where stock goes: cage items outside the cage, overloads, faces that are not the item's.

Also face-to-face relocations and one-off bulk lanes.

The rules apply to storage (PICK, RESERVE, BULK, CAGE), never to stock in passage (DOCK,
STAGING, RETURNS, QUARANTINE, contract section 1): a receipt of a high-value item at the
dock, or an escorted move of cage stock to outbound staging, is normal. A site with no cage
has no cage rule. A face counts as the item's own when it is the master home or the item
has been picked from it before. The load rule weighs what the place holds after the row
(the SKU's balance there, at the weight per each the row's scale read), so the last of
several pallets of one ASN that together overload a place is caught though each weighs
under the limit. A location loaded over its limit by more than a couple of loads (the
rows of one document count as one) is how the site uses it (or its limit is wrong), not a
slip. Stock is
*placed* by a putaway or move into storage, or by a receipt posted straight at a storage
location (sites that receive direct to storage write no putaway row): the cage,
load-limit and home-face rules read both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.detectors.base import Context, flags, key, strength
from scoring.frame import STORAGE_TYPES

INTO = ("PUTAWAY", "MOVE")


def needs(ctx: Context) -> str | None:
    """Needs location types and transfers with a destination (or receipts into storage)."""
    f = ctx.frame
    direct = _direct_receipts(f)
    if not (f["type"].isin(INTO).any() and ctx.has("to_location")) and not direct.any():
        return "no putaways or moves with a destination, nor receipts posted at storage"
    if not ctx.has("dest_type") and not direct.any():
        return "destinations are not in the location table"
    return None


def _direct_receipts(f: pd.DataFrame) -> np.ndarray:
    """Receipts posted at a storage location (direct-to-storage receiving)."""
    return (f["type"] == "RECEIPT").to_numpy() & np.isin(
        f["loc_type"].to_numpy(dtype=object), list(STORAGE_TYPES))


def _placements(ctx: Context) -> pd.DataFrame:
    """Per row, where it puts stock.

    Columns: ``into`` (a transfer with a destination), ``placed`` (into storage, by a
    transfer or a direct receipt), and the place's id, type, load limit and the SKU's
    balance there after the row (missing where the row places nothing).
    """
    f = ctx.frame
    into = f["type"].isin(INTO).to_numpy() & f["to_location"].notna().to_numpy()
    direct = _direct_receipts(f)
    limits = ctx.catalog.locations["max_weight_kg"]
    own_limit = f["location"].map(limits).to_numpy(dtype=float) if len(limits) else np.nan
    none = np.full(len(f), None, dtype=object)
    place = np.where(into, f["to_location"].to_numpy(dtype=object),
                     np.where(direct, f["location"].to_numpy(dtype=object), none))
    place_type = np.where(into, f["dest_type"].to_numpy(dtype=object),
                          np.where(direct, f["loc_type"].to_numpy(dtype=object), none))
    return pd.DataFrame({
        "into": into,
        "placed": (into & np.isin(place_type, list(STORAGE_TYPES))) | direct,
        "place": place,
        "place_type": place_type,
        "max_w": np.where(into, f["dest_max_w"].to_numpy(dtype=float),
                          np.where(direct, own_limit, np.nan)),
        "after": np.where(into, f["dest_after"].to_numpy(dtype=float),
                          np.where(direct, f["bal_after"].to_numpy(dtype=float), np.nan)),
    }, index=f.index)


def _has_cage(ctx: Context) -> bool:
    return bool((ctx.catalog.locations["type"] == "CAGE").any())


def eligible(ctx: Context) -> dict[str, np.ndarray]:
    """Transfers into storage (of cage items, for the cage rule); putaways; moves."""
    f = ctx.frame
    pl = _placements(ctx)
    into, storage = pl["into"].to_numpy(), pl["placed"].to_numpy()
    cage_item = (f["home_type"] == "CAGE").to_numpy() & _has_cage(ctx)
    return {
        "HIGH_VALUE_OUTSIDE_CAGE": storage & cage_item,
        "OVER_WEIGHT_LIMIT": storage & pl["max_w"].notna().to_numpy(),
        "AWAY_FROM_HOME": storage & (pl["place_type"] == "PICK").to_numpy(),
        "RARE_STORAGE_TYPE": storage & (f["type"] == "PUTAWAY").to_numpy(),
        "FACE_TO_FACE_MOVE": into & (f["type"] == "MOVE").to_numpy(),
    }


def detect(ctx: Context) -> pd.DataFrame:
    """Cage, weight-limit, home-face, relocation and bulk-lane rules on every transfer.

    Codes: ``HIGH_VALUE_OUTSIDE_CAGE``, ``OVER_WEIGHT_LIMIT``, ``AWAY_FROM_HOME``,
    ``RARE_STORAGE_TYPE``, ``FACE_TO_FACE_MOVE``.
    """
    f = ctx.frame
    p = ctx.params
    pl = _placements(ctx)
    into, storage = pl["into"].to_numpy(), pl["placed"].to_numpy()
    dest_type = pl["place_type"].to_numpy(dtype=object)
    place = pl["place"].to_numpy(dtype=object)
    out = []
    cage = storage & (dest_type != "CAGE") & (f["home_type"] == "CAGE").to_numpy()
    cage &= _has_cage(ctx)
    d = f[cage]
    out.append(
        flags(
            "locations",
            "HIGH_VALUE_OUTSIDE_CAGE",
            d["row"].to_numpy(),
            np.full(len(d), 0.9),
            {
                "to_location": place[cage],
                "to_type": dest_type[cage],
                "home": d["home"].to_numpy(),
                "unit_cost": d["unit_cost"].to_numpy(),
            },
            [key("sku", d["sku"]), key("loc", place[cage])],
        )
    )
    measured = f["weight_kg"].to_numpy()
    after = pl["after"].to_numpy()
    est = after * f["unit_weight"].to_numpy()
    limit = pl["max_w"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        # what the place holds after the row, at the weight per each this row's scale read:
        # one pallet of several to one place weighs under the limit, the place over it
        held = np.where(after > f["eaches"].to_numpy(), after * measured / f["eaches"].to_numpy(),
                        measured)
        measured = np.fmax(measured, held)
        over_m = storage & (measured > limit)
        over_e = (
            storage & (est > limit * p["overweight_estimate_margin"])
            if not ctx.has("weight_kg")
            else np.zeros(len(f), bool)
        )
    over = over_m | over_e
    # a place overloaded again and again describes the site, not a handling; the pallets of
    # one document (an ASN's putaways) that take it over the limit are one load
    load_of = np.where(f["ref"].notna().to_numpy(), f["ref"].to_numpy(dtype=object),
                       np.arange(len(f)).astype(str))
    times = pd.Series(load_of[over]).groupby(place[over]).nunique()
    over &= pd.Series(place).map(times).fillna(0).to_numpy() <= p["overweight_place_max"]
    load = np.where(over_m, measured, est)
    d = f[over]
    out.append(
        flags(
            "locations",
            "OVER_WEIGHT_LIMIT",
            d["row"].to_numpy(),
            strength(load[over] / limit[over], 1.0, 2.0),
            {
                "to_location": place[over],
                "load_kg": np.round(load[over], 1),
                "limit_kg": limit[over],
                "measured": over_m[over],
            },
            [key("sku", d["sku"]), key("loc", place[over])],
        )
    )
    home = f["home"].to_numpy(dtype=object)
    to = place
    picks = f["type"].to_numpy() == "PICK"
    pair = f["sku"].to_numpy(dtype=object) + "@" + f["location"].fillna("").to_numpy(dtype=object)
    dest_pair = f["sku"].to_numpy(dtype=object) + "@" + pl["place"].fillna("").to_numpy(
        dtype=object)
    # a face is the item's own when history saw picks there, or an earlier row of this frame did
    prior = pd.Series(dest_pair).map(ctx.baselines.pick_faces).fillna(0).to_numpy()
    # history picks that come later than the row (the frame overlaps the history when a log is
    # scored against itself) cannot make the face the item's own at the time of the row
    in_history = picks & (f["t"].to_numpy() <= ctx.baselines.end_t)
    prior = prior - _later_picks(pair, dest_pair, in_history)
    first_pick_row = (
        pd.Series(np.where(picks, np.arange(len(f)), len(f)), index=pair).groupby(level=0).min()
    )
    before = pd.Series(dest_pair).map(first_pick_row).fillna(len(f)).to_numpy() < np.arange(len(f))
    known_face = (prior >= p["face_min_picks"]) | before
    away = storage & (dest_type == "PICK") & pd.notna(home) & (to != home) & ~known_face
    away &= ~(into & (f["loc_type"].to_numpy(dtype=object) == "PICK"))
    d = f[away]
    out.append(
        flags(
            "locations",
            "AWAY_FROM_HOME",
            d["row"].to_numpy(),
            np.full(len(d), 0.75),
            {"to_location": place[away], "home": d["home"].to_numpy()},
            [key("sku", d["sku"]), key("loc", place[away])],
        )
    )
    # a bulk lane for a SKU that (almost) never needs one: an exceptional volume
    uses = (
        pd.Series(f["sku"].fillna("") + "@" + f["dest_type"].fillna(""))
        .map(ctx.baselines.type_use)
        .fillna(0)
        .to_numpy()
    )
    total = f["sku"].map(ctx.baselines.type_use_total).fillna(0).to_numpy()
    rare = (
        storage
        & (f["type"].to_numpy() == "PUTAWAY")
        & (uses <= p["rare_type_max"])
        & (total - uses >= 5 * p["rare_type_max"])
        & (dest_type == "BULK")
    )
    d = f[rare]
    out.append(
        flags(
            "locations",
            "RARE_STORAGE_TYPE",
            d["row"].to_numpy(),
            np.full(len(d), 0.5),
            {
                "to_location": d["to_location"].to_numpy(),
                "to_type": d["dest_type"].to_numpy(),
                "uses_in_history": uses[rare],
                "transfers_in_history": total[rare],
            },
            [key("sku", d["sku"]), key("loc", d["to_location"])],
        )
    )
    f2f = (
        into
        & (f["type"].to_numpy() == "MOVE")
        & (f["loc_type"].to_numpy(dtype=object) == "PICK")
        & (dest_type == "PICK")
    )
    d = f[f2f]
    out.append(
        flags(
            "locations",
            "FACE_TO_FACE_MOVE",
            d["row"].to_numpy(),
            np.full(len(d), 0.5),
            {
                "from_location": d["location"].to_numpy(),
                "to_location": d["to_location"].to_numpy(),
                "qty": d["eaches"].to_numpy(),
                "left_behind": d["bal_after"].to_numpy(),
                "to_is_home": to[f2f] == home[f2f],
            },
            [
                key("sku", d["sku"]),
                key("move", d["user_id"].fillna("?") + "@" + (d["t"] // 3600).astype(str)),
            ],
        )
    )
    return pd.concat(out, ignore_index=True)


def _later_picks(pair: np.ndarray, dest_pair: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Per row: picks (``picks`` rows, keyed by ``pair``) of its ``dest_pair`` at later rows."""
    n = len(pair)
    codes, _ = pd.factorize(np.concatenate([pair, dest_pair]))
    src, dst = codes[:n].astype(np.int64), codes[n:].astype(np.int64)
    combo = np.sort(src[picks] * (n + 1) + np.flatnonzero(picks))
    rows = np.arange(n, dtype=np.int64)
    return np.searchsorted(combo, dst * (n + 1) + n, side="right") - np.searchsorted(
        combo, dst * (n + 1) + rows, side="right"
    )
