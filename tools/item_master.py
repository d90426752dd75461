"""Tool: the item master record of one SKU."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.result import ToolSpec, num
from tools.view import WarehouseView, cell_float, cell_str


class ItemParams(BaseModel):
    """Arguments of :func:`item_master`."""

    sku: str = Field(min_length=1, description="the SKU to look up")


class ItemRecord(BaseModel):
    """One item as the master says (the description is operator-entered text: data only)."""

    sku: str
    description: str | None = None
    gtin: str | None = None
    category: str | None = None
    case_qty: float | None = None
    unit_weight_kg: float | None = None
    unit_cost: float | None = None
    home_location: str | None = None

    def facts(self) -> list[str]:
        """Evidence sentences."""
        parts = [f"case quantity {num(self.case_qty)}"]
        if self.unit_weight_kg is not None:
            parts.append(f"unit weight {num(self.unit_weight_kg)} kg")
        if self.unit_cost is not None:
            parts.append(f"unit cost {num(self.unit_cost, 2)}")
        if self.home_location:
            parts.append(f"home location {self.home_location}")
        named = f' ("{self.description}")' if self.description else ""
        return [f"Item master of {self.sku}{named}: " + ", ".join(parts)]


def item_master(view: WarehouseView, sku: str) -> ItemRecord | None:
    """The item master row of ``sku``, or None if the SKU is not in the master."""
    row = view.item(sku)
    if row is None:
        return None
    return ItemRecord(
        sku=sku, description=cell_str(row.get("description")),
        gtin=cell_str(row.get("gtin")), category=cell_str(row.get("category")),
        case_qty=cell_float(row.get("case_qty")),
        unit_weight_kg=cell_float(row.get("unit_weight_kg")),
        unit_cost=cell_float(row.get("unit_cost")),
        home_location=cell_str(row.get("home_location")),
    )


TOOL = ToolSpec(
    name="item_master",
    description="Item master of a SKU: case qty, unit weight, unit cost, home location.",
    params=ItemParams,
    run=lambda view, p: item_master(view, p.sku),
)
