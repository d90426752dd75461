"""The item master: families of look-alike SKUs and their true physical properties.

A family is one brand and product in several sizes (or flavours): similar descriptions,
neighbouring GTINs and SKU numbers, different pack sizes and unit weights, slotted side by
side — which is exactly what makes pickers grab the wrong one. Electronics and fragrance are
high-value and live in the CAGE. Popularity is skewed (a few fast movers, a long tail).

The catalogue keeps two truths apart: ``master`` (what items.csv says) and ``true_case_qty``
/ ``true_weight`` (what is really in the box). They agree until an UOM_MASTER_DATA recipe
makes them differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from warehouse.contract import ITEM_COLUMNS

BRANDS = ("Northwind", "Acme", "Bluebird", "Crestline", "Evergreen", "Harbor", "Summit",
          "Orchard", "Polar", "Vista", "Kestrel", "Meridian", "Juniper", "Larkspur")

# category: (products, size variants (label, kg per each), case quantities, unit cost range,
#            high value, lot controlled)
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, float], ...], tuple[int, ...],
                            tuple[float, float], bool, bool]] = {
    "Beverages": (("Sparkling Water", "Cola", "Orange Juice", "Iced Tea", "Energy Drink",
                   "Cold Brew Coffee", "Lemonade"),
                  (("330ml", 0.36), ("500ml", 0.54), ("1L", 1.06), ("1.5L", 1.58)),
                  (6, 12, 24), (0.4, 3.5), False, True),
    "Personal Care": (("Shampoo", "Conditioner", "Body Wash", "Toothpaste", "Deodorant",
                       "Hand Cream"),
                      (("75ml", 0.09), ("250ml", 0.29), ("400ml", 0.45), ("750ml", 0.81)),
                      (6, 12, 24), (1.2, 9.0), False, False),
    "Household": (("Dish Soap", "Laundry Liquid", "Surface Cleaner", "Bin Bags", "Sponges"),
                  (("500ml", 0.55), ("1L", 1.08), ("2L", 2.12), ("5L", 5.2)),
                  (4, 6, 12), (1.0, 14.0), False, False),
    "Snacks": (("Sea Salt Crisps", "Oat Cookies", "Granola Bars", "Crackers", "Trail Mix"),
               (("40g", 0.046), ("150g", 0.165), ("300g", 0.32)),
               (12, 24, 48), (0.5, 4.0), False, True),
    "Pet": (("Dry Dog Food", "Cat Litter", "Bird Seed"),
            (("2kg", 2.1), ("5kg", 5.2), ("10kg", 10.3), ("15kg", 15.4)),
            (1, 2, 4), (4.0, 45.0), False, False),
    "Hardware": (("Wood Screws", "Wall Plugs", "Masking Tape", "Interior Paint", "Drill Bits"),
                 (("small", 0.2), ("medium", 0.6), ("large", 1.4), ("2.5L", 3.4)),
                 (5, 10, 20), (2.0, 30.0), False, False),
    "Electronics": (("Wireless Earbuds", "Smartwatch", "Tablet 10in", "Action Camera",
                     "Bluetooth Speaker", "Power Bank"),
                    (("32GB", 0.21), ("64GB", 0.22), ("128GB", 0.24), ("Pro", 0.31)),
                    (1, 4, 10), (79.0, 899.0), True, False),
    "Fragrance": (("Eau de Parfum", "Eau de Toilette", "Cologne"),
                  (("30ml", 0.18), ("50ml", 0.27), ("100ml", 0.44)),
                  (3, 6), (45.0, 160.0), True, False),
}
# Share of SKUs per category (high-value categories small, as in a real general-goods DC).
CATEGORY_SHARE = {"Beverages": 0.2, "Personal Care": 0.2, "Household": 0.15, "Snacks": 0.17,
                  "Pet": 0.07, "Hardware": 0.14, "Electronics": 0.04, "Fragrance": 0.03}
HIGH_VALUE_COST = 40.0


@dataclass
class Catalogue:
    """Items, their look-alike families and what the simulation needs per SKU.

    Attributes:
        master: items.csv rows as the WMS has them (home_location filled later).
        skus: SKU ids in catalogue order.
        family: SKU -> the other SKUs of its look-alike family.
        category: SKU -> category.
        cage: SKUs that belong in the cage.
        lot_controlled: SKUs received with lot and expiry.
        master_case_qty: case quantity per the item master (what the WMS converts with).
        true_case_qty: eaches really in a case; differs from the master for bad master data.
        master_weight: unit weight per the item master (kg).
        true_weight: unit weight really measured by a scale (kg).
        cost: unit cost.
        popularity: probability that an order line is for the SKU (sums to 1).
        line_size: mean eaches per order line.
        home: SKU -> pick face (or cage location).
        reserve: SKU -> reserve slot (None for cage items).
    """

    master: pd.DataFrame
    skus: list[str]
    family: dict[str, list[str]]
    category: dict[str, str]
    cage: set[str]
    lot_controlled: set[str]
    master_case_qty: dict[str, int]
    true_case_qty: dict[str, int]
    master_weight: dict[str, float]
    true_weight: dict[str, float]
    cost: dict[str, float]
    popularity: np.ndarray
    line_size: np.ndarray
    home: dict[str, str] = field(default_factory=dict)
    reserve: dict[str, str | None] = field(default_factory=dict)

    def face_and_reserve(self, sku: str) -> list[tuple[str, str]]:
        """``(sku, pick face)`` and ``(sku, reserve slot)`` of a floor item.

        Raises:
            ValueError: ``sku`` is a cage item (cage items have no reserve slot).
        """
        reserve = self.reserve[sku]
        if reserve is None:
            raise ValueError(f"{sku} is a cage item: it has no reserve slot")
        return [(sku, self.home[sku]), (sku, reserve)]


def _gtin13(base12: int) -> str:
    digits = f"{base12:012d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def build_catalogue(n_skus: int, rng: np.random.Generator,
                    high_value_cost: float | None = HIGH_VALUE_COST) -> Catalogue:
    """Draw ``n_skus`` items in look-alike families.

    Args:
        n_skus: catalogue size.
        rng: the simulation's random generator.
        high_value_cost: unit cost from which a high-value category's item is caged; None
            for a site without a cage.

    Returns:
        The catalogue, homes not yet assigned.
    """
    names = list(CATEGORY_SHARE)
    share = np.array([CATEGORY_SHARE[c] for c in names])
    rows: list[dict] = []
    family: dict[str, list[str]] = {}
    sku_number = int(rng.integers(10_000, 60_000))
    used_names: set[tuple[str, str, str]] = set()
    while len(rows) < n_skus:
        cat = names[int(rng.choice(len(names), p=share / share.sum()))]
        products, sizes, case_qtys, (lo, hi), high_value, _ = CATEGORIES[cat]
        brand = BRANDS[int(rng.integers(len(BRANDS)))]
        product = products[int(rng.integers(len(products)))]
        flavour = ""
        if (brand, product, flavour) in used_names:
            flavour = ("Zero", "Lime", "Original", "Classic", "Plus", "Max")[int(rng.integers(6))]
            if (brand, product, flavour) in used_names:
                continue
        used_names.add((brand, product, flavour))
        n_members = min(int(rng.integers(2, 5)), len(sizes), n_skus - len(rows))
        picked = np.sort(rng.choice(len(sizes), size=n_members, replace=False))
        gtin_base = 500_000_000_000 + int(rng.integers(0, 10**11 - 10))
        cost0 = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        members: list[str] = []
        for k, s in enumerate(picked):
            size_label, kg = sizes[int(s)]
            sku = f"{cat[:2].upper()}{sku_number}"
            sku_number += int(rng.integers(1, 3))
            scale = kg / sizes[int(picked[0])][1]
            cost = round(cost0 * (0.6 + 0.4 * scale) * float(rng.uniform(0.9, 1.1)), 2)
            desc = " ".join(p for p in (brand, product, flavour, size_label) if p)
            cq = int(case_qtys[min(len(case_qtys) - 1, max(0, len(case_qtys) - 1 - k))])
            if rng.random() < 0.3:
                cq = int(case_qtys[int(rng.integers(len(case_qtys)))])
            rows.append({
                "sku": sku, "description": desc, "gtin": _gtin13(gtin_base + k),
                "category": cat, "case_qty": cq,
                "unit_weight_kg": round(kg * float(rng.uniform(0.97, 1.03)), 3),
                "unit_cost": cost, "home_location": None, "_high_value": high_value,
            })
            members.append(sku)
        for sku in members:
            family[sku] = [m for m in members if m != sku]
    master = pd.DataFrame(rows)
    skus = master["sku"].tolist()
    ranks = rng.permutation(len(skus)) + 1
    popularity = 1.0 / ranks**0.9
    popularity /= popularity.sum()
    line_size = np.where(master["case_qty"].to_numpy() <= 2, 1.2,
                         rng.uniform(1.3, 5.0, size=len(skus)))
    costs = dict(zip(skus, master["unit_cost"].astype(float), strict=True))
    cage = {s for s, hv, c in zip(skus, master["_high_value"], master["unit_cost"], strict=True)
            if hv and high_value_cost is not None and c >= high_value_cost}
    lot = {s for s, c in zip(skus, master["category"], strict=True) if CATEGORIES[c][5]}
    case_qty = dict(zip(skus, master["case_qty"].astype(int), strict=True))
    weight = dict(zip(skus, master["unit_weight_kg"].astype(float), strict=True))
    return Catalogue(
        master=master[ITEM_COLUMNS].copy(), skus=skus, family=family,
        category=dict(zip(skus, master["category"], strict=True)), cage=cage,
        lot_controlled=lot, master_case_qty=dict(case_qty), true_case_qty=dict(case_qty),
        master_weight=dict(weight), true_weight=dict(weight), cost=costs,
        popularity=popularity, line_size=line_size,
    )


def assign_homes(cat: Catalogue, pick: list[str], reserve: list[str], cage: list[str],
                 rng: np.random.Generator) -> list[str]:
    """Slot families side by side on pick faces, cage items in the cage, one reserve slot each.

    Args:
        cat: the catalogue; ``home`` and ``reserve`` are filled in place.
        pick: pick faces in walking order.
        reserve: reserve slots in walking order.
        cage: cage locations.
        rng: the simulation's random generator.

    Returns:
        The pick faces left empty (spares for relocations and mis-slotting).
    """
    spare: list[str] = []
    slot = iter(pick)
    cage_slot = iter(cage)
    reserve_slot = iter(reserve)
    seen: set[str] = set()
    for sku in cat.skus:
        if sku in seen:
            continue
        members = [sku, *cat.family[sku]]
        seen.update(members)
        for m in members:
            if m in cat.cage:
                cat.home[m] = next(cage_slot)
                cat.reserve[m] = None
                continue
            if rng.random() < 0.08:
                spare.append(next(slot))
            cat.home[m] = next(slot)
            cat.reserve[m] = next(reserve_slot)
    spare.extend(slot)
    cat.master["home_location"] = [cat.home[s] for s in cat.skus]
    return spare
