"""Seed the reference WMS with the master data and balances a Tally store holds.

A demo (or a test) starts the reference WMS knowing the same items and stock as Tally, so an
approved RESLOT, ADJUST_INVENTORY or CORRECT_MASTER_DATA finds what it refers to. The WMS
keeps the actions it applied in its own database; seeding a WMS that already applied some
(a restart with ``--from-store``) sets its balances to the store's and then re-applies the
effects of those actions, so a restart never undoes an applied adjustment or reslot.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Engine, delete
from sqlmodel import Session

from sim.wms.app import reapply_actions
from sim.wms.models import SimBalance, SimItem


def _value(v: Any) -> Any:
    """None for a missing cell (NaN, None), the plain value otherwise."""
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def seed_from_store(sim: Engine, store: Any) -> tuple[int, int]:
    """Copy the store's item master and perpetual balances into the WMS's database.

    The WMS's balances become exactly the store's (rows the store lacks, such as a reslot's
    new slot, are dropped), then every action it applied earlier is applied again.

    Returns:
        How many items and balances were written (the effects of actions applied earlier
        are then applied again: :func:`sim.wms.app.reapply_actions`).
    """
    items = store.items()
    balances = store.balances()
    with Session(sim) as session:
        session.execute(delete(SimBalance))
        for row in items.to_dict("records"):
            cost, weight = _value(row.get("unit_cost")), _value(row.get("unit_weight_kg"))
            session.merge(SimItem(
                sku=str(row["sku"]), description=str(_value(row.get("description")) or ""),
                case_qty=float(_value(row.get("case_qty")) or 1),
                unit_weight_kg=float(weight) if weight is not None and weight > 0 else None,
                unit_cost=float(cost) if cost is not None else None,
                home_location=_value(row.get("home_location"))))
        for row in balances.to_dict("records"):
            session.merge(SimBalance(sku=str(row["sku"]), location=str(row["location"]),
                                     qty=float(row["qty"])))
        session.commit()
    reapply_actions(sim)
    return len(items), len(balances)
