"""Typed parameters of each contract action (CONTRACT.md section 3), validated in one place.

An action travels as ``{type, params}`` with free-form params; before anything acts on it
(an approval, a WMS write-back) :func:`validate_params` checks the params against the
model for its type and names the field that is wrong.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from warehouse.contract import Action, ActionType, ReasonCode


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class RecountParams(_Params):
    """Count these locations again (optionally only one SKU).

    ``blind``: the counter is not shown the system quantity (a planned cycle count).
    """

    locations: list[str] = Field(min_length=1)
    sku: str | None = None
    blind: bool = False


class AdjustInventoryParams(_Params):
    """Change the system balance of a SKU at a location by a signed quantity in eaches."""

    sku: str = Field(min_length=1)
    location: str = Field(min_length=1)
    qty_delta: float
    reason_code: ReasonCode

    @model_validator(mode="after")
    def _non_zero(self) -> AdjustInventoryParams:
        if self.qty_delta == 0:
            raise ValueError("qty_delta must not be 0")
        return self


class CorrectMasterDataParams(_Params):
    """Correct one item-master field; ``old`` is what the evidence saw (checked on write)."""

    sku: str = Field(min_length=1)
    field: Literal["case_qty", "unit_weight_kg"]
    old: float | None = None
    new: float = Field(gt=0)


class ReslotParams(_Params):
    """Move a SKU's stock and home slot from one location to another."""

    sku: str = Field(min_length=1)
    from_location: str = Field(min_length=1)
    to_location: str = Field(min_length=1)


class VoidDuplicateParams(_Params):
    """Void a transaction that duplicates another."""

    txn_id: str = Field(min_length=1)


class SupplierClaimParams(_Params):
    """Claim a receiving shortfall (or report an overage) against a PO/ASN."""

    ref: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    qty_delta: float


class InvestigateParams(_Params):
    """Open an investigation into any of a SKU, a location, a user."""

    sku: str | None = None
    location: str | None = None
    user_id: str | None = None

    @model_validator(mode="after")
    def _something(self) -> InvestigateParams:
        if not (self.sku or self.location or self.user_id):
            raise ValueError("name at least one of sku, location, user_id")
        return self


class QualityHoldParams(_Params):
    """Hold a SKU at a location until quality releases it."""

    sku: str = Field(min_length=1)
    location: str = Field(min_length=1)


class NoActionParams(_Params):
    """Nothing to do."""


ACTION_PARAMS: dict[ActionType, type[_Params]] = {
    ActionType.RECOUNT: RecountParams,
    ActionType.ADJUST_INVENTORY: AdjustInventoryParams,
    ActionType.CORRECT_MASTER_DATA: CorrectMasterDataParams,
    ActionType.RESLOT: ReslotParams,
    ActionType.VOID_DUPLICATE: VoidDuplicateParams,
    ActionType.SUPPLIER_CLAIM: SupplierClaimParams,
    ActionType.INVESTIGATE: InvestigateParams,
    ActionType.QUALITY_HOLD: QualityHoldParams,
    ActionType.NO_ACTION: NoActionParams,
}


def validate_params(action: Action) -> BaseModel:
    """The action's params as the typed model for its type.

    Raises:
        pydantic.ValidationError: naming each missing, unknown or ill-typed param.
    """
    return ACTION_PARAMS[ActionType(action.type)].model_validate(action.params)
