"""The action policy's parameters, and the one definition of a high-value item.

Every threshold the policy, the case features and the systemic folding use is a named,
documented field here; nothing depends on the identifiers, SKU counts or quantities of one
site: what counts as high value is read from the site's own item master.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class PolicyParams(BaseModel):
    """Thresholds of the action policy (:mod:`agents.policy`) and its neighbours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight_off: float = Field(
        default=0.08, gt=0, lt=1,
        description="relative gap (share) between a measured and an expected weight beyond "
                    "which the weight is off: |measured / expected - 1| > this")
    weight_fit: float = Field(
        default=0.04, gt=0, lt=1,
        description="relative gap (share) within which a measured weight fits an item: "
                    "|measured / (eaches x unit weight) - 1| < this")
    pack_fit: float = Field(
        default=0.05, gt=0, lt=0.5,
        description="how close (in eaches per case) a case quantity implied by count "
                    "variances must come to a whole number to be believed")
    high_value_quantile: float = Field(
        default=0.9, gt=0, lt=1,
        description="an item is high value when its unit cost is at or above this quantile "
                    "of the unit costs in the site's item master")
    high_value_median_ratio: float = Field(
        default=3.0, ge=1,
        description="an item is high value only if its unit cost is also at least this many "
                    "times the site's median unit cost (a master of a few items has none by "
                    "accident)")
    stop_risk: float = Field(
        default=0.8, ge=0, le=1,
        description="calibrated incident risk (probability) from which an ongoing finding "
                    "stops the line (severity STOP)")
    site_normal_share: float = Field(
        default=0.2, gt=0, le=1,
        description="share of the site's rows above which a signal (a negative balance, a "
                    "pick from an empty bin) is the site's normal, e.g. a log without opening "
                    "stock, and no longer evidence about one case")
    systemic_min_occurrences: int = Field(
        default=10, ge=2,
        description="occurrences (flagged transactions) of one cause (one feed, one device) "
                    "from which they fold into one systemic ticket")
    systemic_min_spread: int = Field(
        default=2, ge=1,
        description="distinct SKUs or days the occurrences must span to be systemic rather "
                    "than one problem")


DEFAULT_PARAMS = PolicyParams()
OPEN_STORAGE = frozenset({"PICK", "RESERVE", "BULK"})
"""Storage location types outside the cage; stock in passage (dock, staging, returns,
quarantine) is in no storage location yet, so no location rule applies to it."""
STORAGE = OPEN_STORAGE | {"CAGE"}
TRANSFERS = ("PUTAWAY", "MOVE")


def placement(kind: object, location: object, to_location: object,
              type_of: Callable[[str], str | None]) -> str | None:
    """Where a row puts stock into a location, if anywhere.

    A putaway's or move's destination, or the storage location a receipt is posted at (a
    site that receives direct to storage writes no putaway row). ``type_of`` gives a
    location's type. None when the row puts nothing into a location.
    """
    if kind in TRANSFERS and isinstance(to_location, str) and to_location:
        return to_location
    if kind == "RECEIPT" and isinstance(location, str) and type_of(location) in STORAGE:
        return location
    return None


def high_value_cost(items: pd.DataFrame, params: PolicyParams = DEFAULT_PARAMS) -> float:
    """The unit cost from which an item is high value at this site (inf without costs).

    The ``high_value_quantile`` of the master's unit costs, and at least
    ``high_value_median_ratio`` times their median.
    """
    if "unit_cost" not in items:
        return math.inf
    costs = pd.to_numeric(items["unit_cost"], errors="coerce").to_numpy(dtype=float)
    costs = costs[np.isfinite(costs) & (costs > 0)]
    if not len(costs):
        return math.inf
    return float(max(np.quantile(costs, params.high_value_quantile),
                     params.high_value_median_ratio * np.median(costs)))


def high_value_skus(items: pd.DataFrame, locations: pd.DataFrame,
                    params: PolicyParams = DEFAULT_PARAMS) -> frozenset[str]:
    """The site's high-value items: slotted to a cage, or costing :func:`high_value_cost`.

    The one definition the policy and the case features share.
    """
    if not len(items):
        return frozenset()
    cages = set(locations.loc[locations["type"] == "CAGE", "location_id"]) if len(
        locations) else set()
    home = items["home_location"] if "home_location" in items else pd.Series(None, items.index)
    cost = pd.to_numeric(items["unit_cost"], errors="coerce") if "unit_cost" in items \
        else pd.Series(np.nan, items.index)
    high = home.isin(cages).to_numpy() | (cost >= high_value_cost(items, params)).to_numpy()
    return frozenset(items["sku"].astype(str).to_numpy()[high])
