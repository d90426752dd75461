"""Tool: one location's attributes and its nearest neighbours."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from tools.result import ToolSpec, num
from tools.view import WarehouseView, cell_float, cell_str


class LocationParams(BaseModel):
    """Arguments of :func:`location_details`."""

    location_id: str = Field(min_length=1)
    neighbours: int = Field(default=4, ge=0, le=20)


class Neighbour(BaseModel):
    """A nearby location (by floor distance, or by id order within the zone)."""

    location_id: str
    type: str | None = None
    distance_m: float | None = None


class LocationInfo(BaseModel):
    """One location as the master says, with its neighbours."""

    location_id: str
    zone: str | None = None
    type: str | None = None
    level: float | None = None
    max_weight_kg: float | None = None
    x_m: float | None = None
    y_m: float | None = None
    neighbours: list[Neighbour] = Field(default_factory=list)

    def facts(self) -> list[str]:
        """Evidence sentences."""
        parts = [f"type {self.type}", f"zone {self.zone}"]
        if self.max_weight_kg is not None:
            parts.append(f"load limit {num(self.max_weight_kg)} kg")
        out = [f"Location {self.location_id}: " + ", ".join(parts)]
        if self.neighbours:
            out.append(f"Neighbours of {self.location_id}: " + ", ".join(
                n.location_id + (f" ({num(n.distance_m, 1)} m)" if n.distance_m is not None
                                 else "") for n in self.neighbours))
        return out


def location_details(view: WarehouseView, location_id: str, *, neighbours: int = 4
                     ) -> LocationInfo | None:
    """A location's zone, type, level, load limit and nearest neighbours.

    Neighbours are the nearest by floor coordinates where the data has them, otherwise the
    locations next to it in id order within its zone (ids usually encode aisle and bay).

    Returns:
        The location, or None when it is not in the location master.
    """
    row = view.location(location_id)
    if row is None:
        return None
    info = LocationInfo(
        location_id=location_id, zone=cell_str(row.get("zone")), type=cell_str(row.get("type")),
        level=cell_float(row.get("level")), max_weight_kg=cell_float(row.get("max_weight_kg")),
        x_m=cell_float(row.get("x_m")), y_m=cell_float(row.get("y_m")),
    )
    if neighbours == 0:
        return info
    arr = view.location_arrays
    if info.x_m is not None and info.y_m is not None:
        dist = np.hypot(arr["x"] - info.x_m, arr["y"] - info.y_m)
        dist[arr["id"] == location_id] = np.nan
        have = np.flatnonzero(~np.isnan(dist))
        if len(have):
            near = have[np.argsort(dist[have], kind="stable")[:neighbours]]
            info.neighbours = [Neighbour(location_id=arr["id"][i], type=cell_str(arr["type"][i]),
                                         distance_m=round(float(dist[i]), 2)) for i in near]
            return info
    zone = np.flatnonzero(arr["zone"] == row.get("zone"))
    zone = zone[np.argsort(arr["id"][zone], kind="stable")]
    here = np.flatnonzero(arr["id"][zone] == location_id)
    if not len(here):  # no zone to look along
        return info
    at = int(here[0])
    half = max(1, neighbours // 2)
    picked = [i for i in zone[max(0, at - half): at + half + 1] if arr["id"][i] != location_id]
    info.neighbours = [Neighbour(location_id=arr["id"][i], type=cell_str(arr["type"][i]))
                       for i in picked[:neighbours]]
    return info

TOOL = ToolSpec(
    name="location_details",
    description="A location's zone, type, load limit and nearest neighbouring locations.",
    params=LocationParams,
    run=lambda view, p: location_details(view, p.location_id, neighbours=p.neighbours),
)
