"""The reference WMS: a small FastAPI app that applies contract actions exactly once per key.

Used by the demo and the tests as the system Tally writes back to. It holds an item master,
balances and work orders in its own SQLite database, applies the actions of CONTRACT.md
section 3, dedups on the ``Idempotency-Key`` header and can be told to fail a seeded
fraction of its write calls (see :mod:`sim.wms.faults`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col, select

from actions.wms import WriteBackStatus
from sim.wms.faults import FaultInjector, FaultMode, FaultPlan
from sim.wms.models import (
    SimAppliedAction,
    SimBalance,
    SimItem,
    SimModel,
    SimWorkOrder,
)
from warehouse.action_params import (
    AdjustInventoryParams,
    CorrectMasterDataParams,
    InvestigateParams,
    QualityHoldParams,
    RecountParams,
    ReslotParams,
    SupplierClaimParams,
    VoidDuplicateParams,
    validate_params,
)
from warehouse.canonical import action_digest, canonical_json
from warehouse.contract import Action, ActionType


class ActionReceipt(BaseModel):
    """The WMS's answer to a write call."""

    status: WriteBackStatus
    idempotency_key: str
    wms_reference: str
    detail: str | None = None


class BalanceRow(BaseModel):
    """One balance to set when seeding the WMS."""

    sku: str = Field(min_length=1)
    location: str = Field(min_length=1)
    qty: float


class ItemRow(BaseModel):
    """One item-master row to load when seeding the WMS."""

    sku: str = Field(min_length=1)
    description: str = ""
    case_qty: float = Field(default=1, gt=0)
    unit_weight_kg: float | None = Field(default=None, gt=0)
    unit_cost: float | None = Field(default=None, ge=0)
    home_location: str | None = None


class WmsConflict(Exception):
    """The action cannot apply to the WMS's current state (409)."""


class WmsUnknown(Exception):
    """The action names something the WMS does not know (422)."""


def get_session(request: Request) -> Iterator[Session]:
    """A session on the WMS's database for one request."""
    with Session(request.app.state.engine) as session:
        yield session


def authorized(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Refuse the call unless it carries the configured bearer token (if any)."""
    expected = request.app.state.api_key
    if expected and authorization != f"Bearer {expected}":
        raise HTTPException(401, "missing or wrong bearer token")


SessionDep = Annotated[Session, Depends(get_session)]


def sim_engine(url: str) -> Engine:
    """An engine on the reference WMS's database, tables created."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        engine = create_engine(
            "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False})
    SimModel.metadata.create_all(engine)
    return engine


def create_sim_app(
    database_url: str = "sqlite://",
    *,
    faults: FaultPlan | None = None,
    api_key: str | None = None,
) -> FastAPI:
    """Build the reference WMS app.

    Args:
        database_url: its own SQLite database (in memory by default).
        faults: which fraction of write calls fail and how; none by default.
        api_key: bearer token callers must present; no check when None.
    """
    app = FastAPI(title="Tally reference WMS", version="1")
    app.state.engine = sim_engine(database_url)
    app.state.faults = FaultInjector(faults or FaultPlan())
    app.state.api_key = api_key

    guarded = [Depends(authorized)]

    @app.exception_handler(WmsConflict)
    def _conflict(_: Request, exc: WmsConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(WmsUnknown)
    def _unknown(_: Request, exc: WmsUnknown) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.put("/v1/items", dependencies=guarded)
    def put_items(items: list[ItemRow], s: SessionDep) -> dict[str, int]:
        for item in items:
            s.merge(SimItem(**item.model_dump()))
        s.commit()
        return {"items": len(items)}

    @app.get("/v1/items/{sku}", dependencies=guarded)
    def get_item(sku: str, s: SessionDep) -> SimItem:
        item = s.get(SimItem, sku)
        if item is None:
            raise HTTPException(404, f"unknown sku {sku!r}")
        return item

    @app.put("/v1/inventory", dependencies=guarded)
    def put_inventory(rows: list[BalanceRow], s: SessionDep) -> dict[str, int]:
        for row in rows:
            s.merge(SimBalance(sku=row.sku, location=row.location, qty=row.qty))
        s.commit()
        return {"balances": len(rows)}

    @app.get("/v1/inventory", dependencies=guarded)
    def get_inventory(
        s: SessionDep, sku: str | None = None, location: str | None = None
    ) -> list[SimBalance]:
        query = select(SimBalance).order_by(SimBalance.sku, SimBalance.location)
        if sku:
            query = query.where(SimBalance.sku == sku)
        if location:
            query = query.where(SimBalance.location == location)
        return list(s.exec(query))

    @app.get("/v1/work-orders", dependencies=guarded)
    def get_work_orders(s: SessionDep, kind: str | None = None) -> list[SimWorkOrder]:
        query = select(SimWorkOrder).order_by(col(SimWorkOrder.id))
        if kind:
            query = query.where(SimWorkOrder.kind == kind)
        return list(s.exec(query))

    @app.get("/v1/actions", dependencies=guarded)
    def get_actions(
        s: SessionDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000
    ) -> list[Any]:
        rows = s.exec(select(SimAppliedAction).order_by(SimAppliedAction.applied_at).limit(limit))
        return [row.model_dump() for row in rows]

    @app.post("/v1/actions", dependencies=guarded)
    def post_action(
        action: Action,
        request: Request,
        idempotency_key: Annotated[str, Header(min_length=8, max_length=200)],
    ) -> ActionReceipt:
        try:
            validate_params(action)
        except ValidationError as exc:
            raise HTTPException(422, f"bad params for {action.type}: {exc.errors()}") from exc
        fault = request.app.state.faults.draw()
        if fault is FaultMode.ERROR:
            raise HTTPException(503, "injected fault: unavailable, nothing applied")
        receipt = apply_action(request.app.state.engine, action, idempotency_key)
        if fault is FaultMode.LOST:
            raise HTTPException(500, "injected fault: applied, answer lost")
        if fault is FaultMode.STALL:
            time.sleep(request.app.state.faults.plan.stall_s)
        return receipt

    return app


def apply_action(engine: Engine, action: Action, key: str) -> ActionReceipt:
    """Apply ``action`` once under ``key`` in one transaction; a repeated key changes nothing.

    Raises:
        WmsConflict: the key was used for a different action, or the action's ``old`` value
            no longer matches the master data.
        WmsUnknown: the action names an unknown SKU.
    """
    digest = action_digest(action)
    with Session(engine) as s:
        seen = s.get(SimAppliedAction, key)
        if seen is not None:
            return _replayed(seen, digest, key)
        reference = f"WMS-{uuid.uuid4().hex[:12]}"
        _effects(s, action, key)
        s.add(
            SimAppliedAction(
                idempotency_key=key,
                digest=digest,
                action_type=action.type.value,
                action=canonical_json(action),
                reference=reference,
                applied_at=datetime.now(UTC).isoformat(timespec="microseconds"),
            )
        )
        try:
            s.commit()
        except IntegrityError:
            # A concurrent call with the same key won the race; its effects stand alone.
            s.rollback()
            seen = s.get(SimAppliedAction, key)
            assert seen is not None
            return _replayed(seen, digest, key)
    return ActionReceipt(
        status=WriteBackStatus.APPLIED, idempotency_key=key, wms_reference=reference
    )


def _replayed(seen: SimAppliedAction, digest: str, key: str) -> ActionReceipt:
    if seen.digest != digest:
        raise WmsConflict(f"idempotency key {key!r} was already used for a different action")
    return ActionReceipt(
        status=WriteBackStatus.ALREADY_APPLIED,
        idempotency_key=key,
        wms_reference=seen.reference,
        detail=f"applied at {seen.applied_at}",
    )


def _item(s: Session, sku: str) -> SimItem:
    item = s.get(SimItem, sku)
    if item is None:
        raise WmsUnknown(f"unknown sku {sku!r}")
    return item


def _add_balance(s: Session, sku: str, location: str, delta: float) -> None:
    row = s.get(SimBalance, (sku, location)) or SimBalance(sku=sku, location=location, qty=0.0)
    row.qty += delta
    s.add(row)


def _order(s: Session, kind: ActionType, key: str, **details: Any) -> None:
    s.add(
        SimWorkOrder(
            kind=kind.value,
            sku=details.get("sku"),
            location=details.get("location"),
            details=json.dumps(details, sort_keys=True),
            idempotency_key=key,
        )
    )


STATEFUL = frozenset({ActionType.ADJUST_INVENTORY, ActionType.RESLOT,
                      ActionType.CORRECT_MASTER_DATA})
"""Action types that change balances or master data (the rest open work orders)."""


def reapply_actions(engine: Engine) -> tuple[int, int]:
    """Apply the balance and master-data effects of every applied action again, in order.

    After the balances and items were re-seeded (``tally wms-sim --from-store`` on a
    restart), this puts back what the applied adjustments, reslots and corrections changed;
    work orders are kept as they are, and no action is recorded twice.

    Returns:
        How many actions were re-applied, and how many no longer applied (skipped).
    """
    done = skipped = 0
    with Session(engine) as s:
        rows = s.exec(select(SimAppliedAction).order_by(SimAppliedAction.applied_at))
        for row in list(rows):
            action = Action.model_validate_json(row.action)
            if action.type not in STATEFUL:
                continue
            try:
                _effects(s, action, row.idempotency_key, orders=False)
                done += 1
            except (WmsConflict, WmsUnknown):
                skipped += 1
        s.commit()
    return done, skipped


def _effects(s: Session, action: Action, key: str, *, orders: bool = True) -> None:
    """Change the WMS's state as the action says (inside the caller's transaction).

    ``orders=False`` changes balances and master data only (a re-apply after re-seeding).
    """
    params = validate_params(action)
    if not orders and action.type not in STATEFUL:
        return
    match params:
        case AdjustInventoryParams():
            _item(s, params.sku)
            _add_balance(s, params.sku, params.location, params.qty_delta)
        case CorrectMasterDataParams():
            item = _item(s, params.sku)
            current = getattr(item, params.field)
            if params.old is not None and current != params.old:
                raise WmsConflict(
                    f"{params.sku} {params.field} is {current}, not {params.old} as the "
                    "action expects: re-check before correcting"
                )
            setattr(item, params.field, params.new)
            s.add(item)
        case ReslotParams():
            item = _item(s, params.sku)
            source = s.get(SimBalance, (params.sku, params.from_location))
            if source is not None and source.qty:
                _add_balance(s, params.sku, params.to_location, source.qty)
                source.qty = 0.0
                s.add(source)
            item.home_location = params.to_location
            s.add(item)
        case RecountParams():
            for location in params.locations:
                _order(s, ActionType.RECOUNT, key, sku=params.sku, location=location,
                       blind=params.blind)
        case VoidDuplicateParams():
            _order(s, ActionType.VOID_DUPLICATE, key, txn_id=params.txn_id)
        case SupplierClaimParams():
            _order(s, ActionType.SUPPLIER_CLAIM, key, **params.model_dump())
        case InvestigateParams() | QualityHoldParams():
            _order(s, action.type, key, **params.model_dump())
        case _:  # NO_ACTION: recorded under its key, nothing else changes
            pass
