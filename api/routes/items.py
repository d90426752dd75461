"""``POST /v1/items/versions``: item-master change events (a new pack or unit weight)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Body, Request
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from api.deps import SiteSupervisor
from api.errors import ApiError
from warehouse.errors import UserError

router = APIRouter(prefix="/v1/items", tags=["items"])
MAX_ITEMS = 1000


class ItemChange(BaseModel):
    """A change of one SKU's pack data in the WMS's item master."""

    sku: str = Field(min_length=1, max_length=128)
    case_qty: int | None = Field(default=None, ge=1, description="eaches per case now")
    unit_weight_kg: float | None = Field(default=None, gt=0, description="weight of one each")
    effective_from: AwareDatetime | None = Field(
        default=None, description="when the change took effect (default: now)")

    @model_validator(mode="after")
    def _changes_something(self) -> ItemChange:
        if self.case_qty is None and self.unit_weight_kg is None:
            raise ValueError("give case_qty, unit_weight_kg or both")
        return self


class ItemChangeResult(BaseModel):
    """What the store did with the changes."""

    received: int
    versioned: int = Field(description="SKUs that got a new item-master version")


class UnknownItem(ApiError):
    """A change names a SKU the store does not hold (422)."""

    status_code = 422


@router.post("/versions", response_model=ItemChangeResult)
def post_item_versions(
    request: Request, user: SiteSupervisor,
    changes: list[ItemChange] = Body(min_length=1, max_length=MAX_ITEMS),  # noqa: B008
) -> ItemChangeResult:
    """Record item-master changes; one that changes nothing adds no version.

    All or nothing: a change naming an unknown SKU refuses the whole request (422).
    """
    rows = [{"sku": c.sku, "case_qty": c.case_qty, "unit_weight_kg": c.unit_weight_kg,
             "effective_from": _iso(c.effective_from)} for c in changes]
    try:
        versioned = request.app.state.store.record_item_versions(
            rows, source=f"item-master event from {user.name}")
    except UserError as exc:
        raise UnknownItem(str(exc)) from None
    return ItemChangeResult(received=len(changes), versioned=versioned)


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None
