"""Tool: SKUs easily confused with one SKU, and whether a measured weight fits them better."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from tools.result import ToolSpec, num
from tools.view import WarehouseView, cell_float, cell_str
from warehouse.lookalikes import description_similarity, gtin_distance

MAX_GTIN_DISTANCE = 2
WEIGHT_FIT = 0.04
"""Relative error within which a measured weight fits a SKU's unit weight."""


class LookalikeParams(BaseModel):
    """Arguments of :func:`lookalike_skus`."""

    sku: str = Field(min_length=1)
    weight_kg: float | None = Field(default=None, gt=0, description="a measured weight to fit")
    eaches: float | None = Field(default=None, gt=0, description="eaches the weight was for")
    limit: int = Field(default=5, ge=1, le=20)


class Lookalike(BaseModel):
    """A SKU that looks like the asked one."""

    sku: str
    description_similarity: float
    gtin_distance: int | None = None
    weight_error: float | None = Field(
        default=None, description="measured / (eaches x this SKU's unit weight) - 1")

    def fits(self) -> bool:
        """Whether the measured weight fits this SKU."""
        return self.weight_error is not None and abs(self.weight_error) <= WEIGHT_FIT


class Lookalikes(BaseModel):
    """Look-alikes of one SKU, with the weight fit of the SKU itself for comparison."""

    sku: str
    weight_kg: float | None = None
    eaches: float | None = None
    own_weight_error: float | None = None
    candidates: list[Lookalike]

    def facts(self) -> list[str]:
        """Evidence sentences."""
        out = []
        for c in self.candidates[:3]:
            extra = f", GTIN {c.gtin_distance} digit(s) apart" if c.gtin_distance is not None \
                else ""
            out.append(f"Look-alike of {self.sku}: {c.sku} (description similarity "
                       f"{num(c.description_similarity, 2)}{extra})")
        fit = [c for c in self.candidates if c.fits()]
        if fit and self.weight_kg is not None:
            own = (f"; it is {num(100 * self.own_weight_error, 1)}% off {self.sku}'s own"
                   if self.own_weight_error is not None else "")
            off = num(100 * abs(fit[0].weight_error or 0), 1)
            out.append(f"Measured weight {num(self.weight_kg)} kg for {num(self.eaches)} EA fits "
                       f"look-alike {fit[0].sku} within {off}%{own}")
        return out


def _weight_error(view: WarehouseView, sku: str, weight: float | None, eaches: float | None
                  ) -> float | None:
    item = view.item(sku)
    unit = cell_float(item.get("unit_weight_kg")) if item is not None else None
    if not (unit and weight and eaches):
        return None
    return weight / (eaches * unit) - 1


def lookalike_skus(view: WarehouseView, sku: str, *, weight_kg: float | None = None,
                   eaches: float | None = None, limit: int = 5) -> Lookalikes | None:
    """SKUs with similar descriptions or near-identical barcodes, best first.

    Args:
        view: the warehouse.
        sku: the SKU in question.
        weight_kg: a measured weight; each candidate then says how well it fits.
        eaches: the eaches that weight was measured for.
        limit: most candidates to return.

    Returns:
        The candidates (weight fits first), or None when the SKU is unknown.
    """
    item = view.item(sku)
    if item is None:
        return None
    cands = set(view.lookalikes.get(sku, []))
    gtin = cell_str(item.get("gtin"))
    if gtin and gtin.isdigit():
        skus, digits = view.memo(f"gtin_digits:{len(gtin)}", lambda: _gtin_matrix(view, len(gtin)))
        near = (digits != np.array(list(gtin), dtype="U1")).sum(axis=1) <= MAX_GTIN_DISTANCE
        cands.update(s for s in skus[near] if s != sku)
    out = []
    for other in cands:
        row = view.item(other)
        if row is None:
            continue
        out.append(Lookalike(
            sku=other,
            description_similarity=round(description_similarity(item.get("description"),
                                                                 row.get("description")), 3),
            gtin_distance=gtin_distance(gtin, row.get("gtin")) if gtin else None,
            weight_error=_rounded(_weight_error(view, other, weight_kg, eaches)),
        ))
    out.sort(key=lambda c: (not c.fits(), -c.description_similarity, c.gtin_distance or 99, c.sku))
    return Lookalikes(sku=sku, weight_kg=weight_kg, eaches=eaches,
                      own_weight_error=_rounded(_weight_error(view, sku, weight_kg, eaches)),
                      candidates=out[:limit])


def _gtin_matrix(view: WarehouseView, length: int) -> tuple[np.ndarray, np.ndarray]:
    """SKUs whose barcode has ``length`` digits, and those digits as a character matrix."""
    if "gtin" not in view.items:
        return np.empty(0, dtype=object), np.empty((0, length), dtype="U1")
    gtins = view.items["gtin"].astype("string").str.strip()
    digits = gtins[((gtins.str.len() == length) & gtins.str.fullmatch(r"\d+")).fillna(False)]
    mat = np.array([list(g) for g in digits], dtype="U1").reshape(len(digits), length)
    return digits.index.to_numpy(dtype=object), mat


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


TOOL = ToolSpec(
    name="lookalike_skus",
    description="SKUs easily confused with a SKU; given a measured weight and its eaches, "
                "which SKU the weight fits.",
    params=LookalikeParams,
    run=lambda view, p: lookalike_skus(view, p.sku, weight_kg=p.weight_kg, eaches=p.eaches,
                                       limit=p.limit),
)
