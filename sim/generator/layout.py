"""The floor plan of the simulated distribution centre.

Zones: pick aisles (zones A, B, C, ... of six aisles, 20 bays, pick faces on levels 0 and 1),
a reserve rack zone R (levels 0-4 above and beside the pick aisles), floor BULK lanes, a
locked CAGE for high-value items, DOCK doors, outbound STAGING lanes, a RETURNS desk and a
QUARANTINE area. Every location has floor coordinates in metres and a weight limit that
falls with the rack level, so a heavy pallet on a top level is over its limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from warehouse.contract import LOCATION_COLUMNS, LocationType

BAYS_PER_AISLE = 20
PICK_LEVELS = (0, 1)
RESERVE_LEVELS = (0, 1, 2, 3, 4)
AISLES_PER_ZONE = 6
AISLE_PITCH_M = 3.2
BAY_PITCH_M = 1.35
# Load limits per location type and rack level (kg).
PICK_LIMIT_KG = {0: 450.0, 1: 300.0}
RESERVE_LIMIT_KG = {0: 1500.0, 1: 1000.0, 2: 1000.0, 3: 700.0, 4: 600.0}


@dataclass
class Layout:
    """Locations of the site and the lookups the simulation needs.

    Attributes:
        frame: locations.csv rows (contract columns).
        pick: pick faces in walking order (zone, aisle, bay, level).
        reserve: reserve rack locations in walking order.
        bulk: floor bulk lanes.
        cage: cage locations for high-value items.
        docks: dock doors receipts land on.
        staging: outbound staging lanes.
        returns: the returns desk.
        quarantine: the quarantine area.
        neighbours: for each rack location, the adjacent bays and levels of the same aisle.
        max_weight: load limit per location (kg).
        level: rack level per location.
    """

    frame: pd.DataFrame
    pick: list[str]
    reserve: list[str]
    bulk: list[str]
    cage: list[str]
    docks: list[str]
    staging: list[str]
    returns: str
    quarantine: str
    neighbours: dict[str, list[str]] = field(default_factory=dict)
    max_weight: dict[str, float] = field(default_factory=dict)
    level: dict[str, int] = field(default_factory=dict)


def _zone_name(index: int) -> str:
    letters = "ABCDEFGHJKLMNP"  # R is the reserve zone, so it is skipped
    suffix = "" if index < len(letters) else str(index // len(letters))
    return letters[index % len(letters)] + suffix


def build_layout(n_pick: int, n_reserve: int, n_cage: int, rng: np.random.Generator, *,
                 cage: bool = True) -> Layout:
    """Lay out at least ``n_pick`` pick faces, ``n_reserve`` reserve slots and ``n_cage`` cages.

    Args:
        n_pick: pick faces needed (one per non-cage SKU plus spares).
        n_reserve: reserve slots needed.
        n_cage: cage locations needed.
        rng: the simulation's random generator (small jitter on coordinates).
        cage: whether the site has a cage at all.

    Returns:
        The layout with its locations frame.
    """
    rows: list[tuple] = []
    layout = Layout(
        frame=pd.DataFrame(), pick=[], reserve=[], bulk=[], cage=[], docks=[], staging=[],
        returns="RET-01", quarantine="QA-01",
    )
    grid: dict[tuple[str, int, int, int], str] = {}

    def rack(zone: str, aisle: int, x0: float, levels: tuple[int, ...], kind: LocationType,
             limits: dict[int, float], out: list[str]) -> None:
        for bay in range(1, BAYS_PER_AISLE + 1):
            for level in levels:
                loc = f"{zone}{aisle:02d}-{bay:02d}-{level}"
                x = x0 + float(rng.normal(0.0, 0.05))
                y = 4.0 + bay * BAY_PITCH_M
                rows.append((loc, zone, kind.value, round(x, 2), round(y, 2), level, limits[level]))
                grid[(zone, aisle, bay, level)] = loc
                out.append(loc)

    slots_per_aisle = BAYS_PER_AISLE * len(PICK_LEVELS)
    n_aisles = -(-n_pick // slots_per_aisle)
    for a in range(n_aisles):
        zone = _zone_name(a // AISLES_PER_ZONE)
        rack(zone, a % AISLES_PER_ZONE + 1, 2.0 + a * AISLE_PITCH_M, PICK_LEVELS,
             LocationType.PICK, PICK_LIMIT_KG, layout.pick)
    x_reserve = 2.0 + (n_aisles + 1) * AISLE_PITCH_M
    r_aisles = -(-n_reserve // (BAYS_PER_AISLE * len(RESERVE_LEVELS)))
    for a in range(r_aisles):
        rack("R", a + 1, x_reserve + a * AISLE_PITCH_M, RESERVE_LEVELS,
             LocationType.RESERVE, RESERVE_LIMIT_KG, layout.reserve)
    x_end = x_reserve + (r_aisles + 1) * AISLE_PITCH_M
    for i in range(max(8, n_reserve // 25)):
        loc = f"BK-{i + 1:02d}"
        rows.append((loc, "BULK", LocationType.BULK.value, round(x_end + 3.0 * (i % 6), 2),
                     round(6.0 + 4.0 * (i // 6), 2), 0, 2500.0))
        layout.bulk.append(loc)
    for i in range(max(2, n_cage) if cage else 0):
        loc = f"CG-{i // 10 + 1:02d}-{i % 10 + 1}"
        rows.append((loc, "CAGE", LocationType.CAGE.value, round(x_end + 22.0 + (i % 10) * 0.8, 2),
                     round(6.0 + (i // 10) * 1.2, 2), i % 3, 150.0))
        layout.cage.append(loc)
    for i in range(6):
        loc = f"DOCK-{i + 1:02d}"
        rows.append((loc, "DOCK", LocationType.DOCK.value, round(4.0 + i * 6.0, 2), 0.0, 0, None))
        layout.docks.append(loc)
    for i in range(4):
        loc = f"STG-{i + 1:02d}"
        rows.append((loc, "STAGING", LocationType.STAGING.value, round(40.0 + i * 5.0, 2), 1.5, 0,
                     None))
        layout.staging.append(loc)
    rows.append(("RET-01", "RETURNS", LocationType.RETURNS.value, 1.0, 2.0, 0, None))
    rows.append(("QA-01", "QUARANTINE", LocationType.QUARANTINE.value, 1.0, 6.0, 0, 800.0))

    frame = pd.DataFrame.from_records(rows, columns=LOCATION_COLUMNS)
    layout.frame = frame
    layout.max_weight = {
        loc: float(w) for loc, w in zip(frame["location_id"], frame["max_weight_kg"], strict=True)
        if w == w and w is not None
    }
    layout.level = dict(zip(frame["location_id"], frame["level"].astype(int), strict=True))
    for (zone, aisle, bay, level), loc in grid.items():
        near = [grid.get((zone, aisle, bay + d, level)) for d in (-1, 1)]
        near += [grid.get((zone, aisle, bay, level + d)) for d in (-1, 1)]
        layout.neighbours[loc] = [n for n in near if n is not None]
    return layout
