"""From a root cause and the evidence to one contract action with params and a severity.

The policy owns the decision. A reasoner (or a person editing a ticket) may propose an
action; :func:`draft_action` keeps the proposal only when its type suits the root cause,
its params validate (:func:`warehouse.action_params.validate_params`) and every SKU,
location and transaction it names belongs to the case. Values the policy infers (the case
quantity the evidence implies, the quantity to adjust) come with a derived evidence fact,
so the explanation can cite them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, ValidationError

from agents.case import CaseFile
from agents.params import (
    DEFAULT_PARAMS,
    OPEN_STORAGE,
    TRANSFERS,
    PolicyParams,
    high_value_skus,
    placement,
)
from agents.staff_records import (
    claim_ref,
    noted_mix_up,
    noted_shortfall,
    offsetting_pair,
    set_size,
    set_write_off,
)
from agents.value import value_at_risk, value_fact
from tools.result import num
from tools.view import WarehouseView, cell_float, cell_str, records
from warehouse.action_params import validate_params
from warehouse.contract import (
    Action,
    ActionType,
    EvidenceItem,
    ReasonCode,
    RootCause,
    Severity,
)

A = ActionType
ALLOWED: dict[RootCause, frozenset[ActionType]] = {
    RootCause.MIS_SCAN: frozenset({A.ADJUST_INVENTORY, A.RECOUNT, A.VOID_DUPLICATE}),
    RootCause.UOM_MASTER_DATA: frozenset({A.CORRECT_MASTER_DATA, A.RECOUNT, A.INVESTIGATE}),
    RootCause.SLOTTING: frozenset({A.RESLOT, A.RECOUNT}),
    RootCause.RECEIVING_ERROR: frozenset({A.SUPPLIER_CLAIM, A.ADJUST_INVENTORY, A.RECOUNT}),
    RootCause.SHRINKAGE: frozenset({A.INVESTIGATE, A.RECOUNT, A.ADJUST_INVENTORY}),
    RootCause.SYSTEM_SYNC: frozenset({A.VOID_DUPLICATE, A.INVESTIGATE}),
    RootCause.LEGITIMATE: frozenset({A.NO_ACTION}),
}
"""Action types that make sense for each root cause (a proposal outside them is refused)."""
WRITING = frozenset({A.ADJUST_INVENTORY, A.CORRECT_MASTER_DATA, A.VOID_DUPLICATE,
                     A.SUPPLIER_CLAIM, A.RESLOT})
"""Actions that change records: never below REVIEW."""


class Draft(BaseModel):
    """The policy's answer."""

    action: Action
    severity: Severity
    derived: list[EvidenceItem] = Field(
        default_factory=list, description="facts the policy computed (source 'policy')")
    proposal_refused: str | None = Field(default=None, description="why a proposal was refused")
    value_at_risk: float = Field(default=0.0, ge=0.0,
                                 description="money in question (agents.value.value_at_risk)")


def draft_action(cause: RootCause, case: CaseFile, view: WarehouseView, *,
                 proposal: Action | None = None,
                 params: PolicyParams = DEFAULT_PARAMS) -> Draft:
    """One contract action for ``case`` classified as ``cause``.

    Args:
        cause: the (grounded) root cause.
        case: incident and evidence.
        view: the warehouse, for the quantities the action needs.
        proposal: an action suggested by a reasoner or a person; kept if acceptable.
        params: the policy's thresholds.

    Returns:
        The action (params validated), its severity and any derived facts.
    """
    rows = view.txns(case.incident.txn_ids)
    refused = None
    if proposal is not None:
        refused = refusal(proposal, cause, case, rows)
        if refused is None:
            value = value_at_risk(proposal, rows, view)
            return Draft(action=proposal, severity=severity(cause, proposal, case, params),
                         derived=_with_value([], value, rows, view), value_at_risk=value)
    action, derived = _policy_action(cause, case, rows, view, params)
    try:
        validate_params(action)
    except ValidationError:  # never ship an action the write-back would refuse
        action, derived = _inspect(case, rows), []
    value = value_at_risk(action, rows, view)
    return Draft(action=action, severity=severity(cause, action, case, params),
                 derived=_with_value(derived, value, rows, view), proposal_refused=refused,
                 value_at_risk=value)


def _with_value(derived: list[EvidenceItem], value: float, rows: pd.DataFrame,
                view: WarehouseView) -> list[EvidenceItem]:
    fact = value_fact(value, rows, view)
    return [*derived, fact] if fact is not None else derived


def refusal(action: Action, cause: RootCause, case: CaseFile, rows: pd.DataFrame
            ) -> str | None:
    """Why ``action`` is not acceptable for this case, or None when it is."""
    if action.type not in ALLOWED[cause]:
        return f"{action.type.value} does not fit root cause {cause.value}"
    try:
        params = validate_params(action).model_dump(exclude_none=True)
    except ValidationError as err:
        first = err.errors()[0]
        return f"params.{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    skus, locs = _case_ids(case, rows)
    for key, value in params.items():
        values = value if isinstance(value, list) else [value]
        if key == "sku" and not set(values) <= skus:
            return f"sku {value} is not part of this case"
        if key in ("location", "locations", "from_location") and not set(values) <= locs:
            return f"{key} {value} is not part of this case"
        if key == "txn_id" and value not in set(rows["txn_id"]):
            return f"txn_id {value} is not part of this case"
    return None


def severity(cause: RootCause, action: Action, case: CaseFile,
             params: PolicyParams = DEFAULT_PARAMS) -> Severity:
    """Severity of the ticket: how urgently a person must look, not only how sure we are.

    STOP (stop the line) is kept for confident findings that keep hurting until fixed:
    stock the system shows but the shelf lacks (negative balances, picks without stock),
    high-value stock disappearing, and wrong master data (every later receipt and pick of
    the SKU is off). Other actionable findings are REVIEW; NO_ACTION and weak, non-writing
    findings are INFO.
    """
    if action.type is A.NO_ACTION:
        return Severity.INFO
    inc = case.incident
    f = case.features
    confident = inc.risk_score >= params.stop_risk and inc.severity is not Severity.INFO
    ongoing = (f.get("neg_balance", 0) >= 1 or f.get("pick_without_stock", 0) >= 1
               or cause is RootCause.UOM_MASTER_DATA
               or (cause is RootCause.SHRINKAGE and f.get("high_value", 0) >= 1))
    if confident and ongoing:
        return Severity.STOP
    if inc.severity is Severity.INFO and action.type not in WRITING:
        return Severity.INFO
    return Severity.REVIEW


def _case_ids(case: CaseFile, rows: pd.DataFrame) -> tuple[set[str], set[str]]:
    inc = case.incident
    skus = {s for s in [inc.sku, *inc.related_skus, *rows["sku"]] if isinstance(s, str)}
    locs = {s for s in [inc.location, *inc.related_locations, *rows["location"],
                        *rows["to_location"]] if isinstance(s, str)}
    return skus, locs


def _main_sku(case: CaseFile, rows: pd.DataFrame) -> str | None:
    if case.incident.sku:
        return case.incident.sku
    return str(rows["sku"].mode().iloc[0]) if len(rows) else None


def _main_location(case: CaseFile, rows: pd.DataFrame) -> str | None:
    if case.incident.location:
        return case.incident.location
    return str(rows["location"].mode().iloc[0]) if len(rows) else None


def _inspect(case: CaseFile, rows: pd.DataFrame) -> Action:
    """The fallback when no sharper action is supported: recount where it happened."""
    locs = sorted({x for x in [_main_location(case, rows), *rows["location"]]
                   if isinstance(x, str)})
    if locs:
        return Action(type=A.RECOUNT, params={"locations": locs[:4], "sku": _main_sku(case, rows)})
    return Action(type=A.INVESTIGATE, params={"sku": _main_sku(case, rows)})


def _policy_action(cause: RootCause, case: CaseFile, rows: pd.DataFrame, view: WarehouseView,
                   params: PolicyParams) -> tuple[Action, list[EvidenceItem]]:
    if cause is RootCause.LEGITIMATE:
        return Action(type=A.NO_ACTION), []
    if rows.empty:
        return _inspect(case, rows), []
    handler = {
        RootCause.SYSTEM_SYNC: _system_sync,
        RootCause.MIS_SCAN: _mis_scan,
        RootCause.UOM_MASTER_DATA: _master_data,
        RootCause.SLOTTING: _slotting,
        RootCause.RECEIVING_ERROR: _receiving,
        RootCause.SHRINKAGE: _shrinkage,
    }[cause]
    return handler(case, rows, view, params)


def _derived(fact: str) -> list[EvidenceItem]:
    return [EvidenceItem(fact=fact, source="policy")]


def _duplicate_pair(rows: pd.DataFrame, view: WarehouseView) -> tuple[str, str] | None:
    """The first row that repeats an earlier row's payload, and that earlier row."""
    group = view.payload_group[rows.index.to_numpy()]
    repeat = pd.Series(group).duplicated().to_numpy()
    if not repeat.any():
        return None
    later = int(np.argmax(repeat))
    first = int(np.argmax(group == group[later]))
    return str(rows["txn_id"].iloc[first]), str(rows["txn_id"].iloc[later])


def _system_sync(case: CaseFile, rows: pd.DataFrame, view: WarehouseView, p: PolicyParams
                 ) -> tuple[Action, list[EvidenceItem]]:
    pair = _duplicate_pair(rows, view)
    if pair is None:  # a duplicate whose twin the incident did not include
        for txn in rows["txn_id"]:
            hit = view.txns([txn, *view.same_payload(txn)["txn_id"]])
            if len(hit) > 1:
                pair = (str(hit.iloc[0]["txn_id"]), str(hit.iloc[-1]["txn_id"]))
                break
    if pair:
        return (Action(type=A.VOID_DUPLICATE, params={"txn_id": pair[1]}),
                _derived(f"{pair[1]} repeats {pair[0]}: void the later id"))
    params = {k: v for k, v in {"sku": _main_sku(case, rows),
                                "location": _main_location(case, rows)}.items() if v}
    return (Action(type=A.INVESTIGATE, params=params),
            _derived("no event repeats another: an event that posted late or out of order "
                     "fits; the balance heals itself, so investigate the interface"))


def _adjust(sku: str, location: str, delta: float, reason: ReasonCode) -> Action:
    return Action(type=A.ADJUST_INVENTORY, params={
        "sku": sku, "location": location, "qty_delta": _clean(delta), "reason_code": reason.value})


def _clean(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(float(x), 4)


def _mis_scan(case: CaseFile, rows: pd.DataFrame, view: WarehouseView, p: PolicyParams
              ) -> tuple[Action, list[EvidenceItem]]:
    """One handling scanned twice: void the extra scan. Swapped counts: adjust (counted).

    A weight that fits a look-alike only suggests what is on the shelf: recount both
    items' locations before anything is adjusted.
    """
    second = rows[view.rescanned[rows.index.to_numpy()] & (rows["sign"] != 0)]
    for row in records(second.head(1)):
        return (Action(type=A.VOID_DUPLICATE, params={"txn_id": row.txn_id}),
                _derived(f"{row.txn_id} repeats a scan of {num(row.eaches)} EA of {row.sku} at "
                         f"{row.location} seconds after the first: void the extra scan"))
    swapped = _mirrored_counts(rows)
    if swapped is not None:
        over, short = swapped
        return (_adjust(over.sku, over.location, over.var, ReasonCode.COUNT_CORRECTION),
                _derived(f"counts mirror each other: {over.sku} at {over.location} "
                         f"{num(over.var)} EA, {short.sku} at {short.location} {num(short.var)} "
                         f"EA; one was scanned as the other: correct {over.sku} at "
                         f"{over.location} by {num(over.var)} EA"))
    weighed = rows[rows["weight_kg"].notna() & (rows["eaches"] > 0) & (rows["sign"] != 0)]
    for row in records(weighed):
        for other in view.lookalikes.get(row.sku, []):
            item = view.item(other)
            unit = cell_float(item.get("unit_weight_kg")) if item is not None else None
            if unit and abs(row.weight_kg / (row.eaches * unit) - 1) < p.weight_fit:
                locs = _locations_of(view, [row.sku, other], row.location)
                return (Action(type=A.RECOUNT, params={"locations": locs, "sku": row.sku}),
                        _derived(f"{row.txn_id} was scanned as {row.sku} but its weight fits "
                                 f"{other}: recount {', '.join(locs)} before adjusting"))
    return _staff_mix_up(case, rows) or (_inspect(case, rows), [])


def _staff_mix_up(case: CaseFile, rows: pd.DataFrame
                  ) -> tuple[Action, list[EvidenceItem]] | None:
    """A mix-up the staff's own adjustments record: their posting establishes the quantity.

    +N on one code and -N on another (the pair), or one adjustment whose note names the
    mix-up: adjust the case's code by what the staff posted on it.
    """
    pair = offsetting_pair(rows)
    if pair is not None:
        up, down = pair
        main = down if case.incident.sku == down.sku else up
        return (_adjust(main.sku, main.location, main.eaches, ReasonCode.COUNT_CORRECTION),
                _derived(f"{up.txn_id} adds {num(up.eaches)} EA of {up.sku} and {down.txn_id} "
                         f"takes {num(-down.eaches)} EA of {down.sku}: stock booked to the "
                         f"wrong code, the quantity established by the pair; adjust {main.sku} "
                         f"at {main.location} by {num(main.eaches)} EA"))
    noted = noted_mix_up(rows)
    if noted is not None:
        return (_adjust(noted.sku, noted.location, noted.eaches, ReasonCode.COUNT_CORRECTION),
                _derived(f"{noted.txn_id} corrects {noted.sku} by {num(noted.eaches)} EA for a "
                         f"code mix-up its note records: adjust {noted.sku} at "
                         f"{noted.location} by {num(noted.eaches)} EA"))
    return None


def _locations_of(view: WarehouseView, skus: list[str], first: str, limit: int = 4) -> list[str]:
    """``first``, then the home locations of ``skus``: where a swap would show."""
    homes = [cell_str(item.get("home_location")) for s in skus if (item := view.item(s))]
    return list(dict.fromkeys([first, *[h for h in homes if h]]))[:limit]


def _high_value(view: WarehouseView, p: PolicyParams) -> frozenset[str]:
    """The site's high-value SKUs (one definition: :func:`agents.params.high_value_skus`)."""
    return view.memo(f"high_value_skus:{p.high_value_quantile}:{p.high_value_median_ratio}",
                     lambda: high_value_skus(view.dataset.items, view.dataset.locations, p))


def _mirrored_counts(rows: pd.DataFrame) -> tuple[Any, Any] | None:
    """A count over on one SKU and short by as much on another (the over and the short row).

    One item's handlings were scanned as the other's: the system moved the wrong SKU.
    """
    counts = rows[(rows["type"] == "CYCLE_COUNT") & (rows["var"].fillna(0) != 0)]
    short = counts[counts["var"] < 0]
    for over in records(counts[counts["var"] > 0]):
        twin = short[(short["sku"] != over.sku) & ((short["var"] + over.var).abs() < 1e-9)]
        for match in records(twin.head(1)):
            return over, match
    return None


def _weight_ratios(sku: str, view: WarehouseView) -> pd.DataFrame:
    item = view.item(sku)
    unit = cell_float(item.get("unit_weight_kg")) if item is not None else None
    pos = view.positions(sku=sku)
    assert pos is not None
    hist = view.ledger.iloc[pos[~np.isnan(view.column("weight_kg")[pos])
                                & (view.column("eaches")[pos] > 0)]]
    if not unit or hist.empty:
        return hist.iloc[0:0].assign(ratio=[])
    return hist.assign(ratio=hist["weight_kg"] / (hist["eaches"] * unit))


def _master_data(case: CaseFile, rows: pd.DataFrame, view: WarehouseView, p: PolicyParams
                 ) -> tuple[Action, list[EvidenceItem]]:
    sku = _main_sku(case, rows)
    item = view.item(sku) if sku else None
    if not sku or item is None:
        return _inspect(case, rows), []
    case_qty = cell_float(item.get("case_qty"))
    unit = cell_float(item.get("unit_weight_kg"))
    hist = _weight_ratios(sku, view)
    if len(hist) >= 2:
        uom = hist["uom"].fillna("EA")
        ea, cs = hist.loc[uom != "CS", "ratio"], hist.loc[uom == "CS", "ratio"]
        if len(ea) >= 2 and abs(ea.median() - 1) > p.weight_off and unit:
            new = round(unit * float(ea.median()), 4)
            return (Action(type=A.CORRECT_MASTER_DATA, params={
                        "sku": sku, "field": "unit_weight_kg", "old": unit, "new": new}),
                    _derived(f"{len(ea)} weighings of {sku} average {num(ea.median(), 3)} times "
                             f"the master unit weight {num(unit)} kg: it should be {num(new)} kg"))
        if len(cs) and abs(cs.median() - 1) > p.weight_off and case_qty:
            new_qty = round(case_qty * float(cs.median()))
            if new_qty >= 1 and new_qty != case_qty:
                return (Action(type=A.CORRECT_MASTER_DATA, params={
                            "sku": sku, "field": "case_qty", "old": case_qty, "new": new_qty}),
                        _derived(f"cases of {sku} weigh {num(cs.median(), 3)} times what "
                                 f"{num(case_qty)} per case implies: {num(new_qty)} per case"))
    implied = _case_qty_from_counts(sku, case_qty, view, p) if case_qty else None
    if implied is not None:
        new_qty, var, cases = implied
        return (Action(type=A.CORRECT_MASTER_DATA, params={
                    "sku": sku, "field": "case_qty", "old": case_qty, "new": new_qty}),
                _derived(f"count variance {num(var)} EA over {num(cases)} cases handled implies "
                         f"{num(new_qty)} per case, not {num(case_qty)}"))
    return _sold_in_sets(case, rows, view, sku, item, case_qty) or (_inspect(case, rows), [])


def _sold_in_sets(case: CaseFile, rows: pd.DataFrame, view: WarehouseView, sku: str,
                  item: dict[str, Any], case_qty: float | None
                  ) -> tuple[Action, list[EvidenceItem]] | None:
    """A write-off the staff noted as sold in sets: the master's pack is wrong."""
    posting = set_write_off(rows[rows["sku"] == sku])
    found = set_size(posting, item, view, case.notes) if posting is not None else None
    if posting is None or found is None or found.size == case_qty:
        return None
    caveat = ": confirm the set size before approving" if found.estimate else ""
    return (Action(type=A.CORRECT_MASTER_DATA, params={
                "sku": sku, "field": "case_qty", "old": case_qty, "new": found.size}),
            _derived(f"{posting.txn_id} writes off {num(-posting.eaches)} EA of {sku} sold in "
                     f"sets while the master holds {num(case_qty or 1)} per case; a set holds "
                     f"{found.size} ({found.source}){caveat}"))


def _case_qty_from_counts(sku: str, case_qty: float, view: WarehouseView, p: PolicyParams
                          ) -> tuple[int, float, float] | None:
    """The case quantity that explains count variances by the cases handled before them."""
    hist = view.rows(sku=sku)
    counts = hist[(hist["type"] == "CYCLE_COUNT") & (hist["var"].fillna(0) != 0)]
    guesses = []
    for c in records(counts):
        at = hist[(hist["ts"] <= c.ts) & (hist["uom"] == "CS")]
        into = at[(at["to_location"] == c.location)
                  | ((at["location"] == c.location) & (at["sign"] > 0))]["qty"].sum()
        out = at[(at["location"] == c.location) & (at["sign"] < 0)]["qty"].sum()
        cases = float(into - out)
        if cases:
            guess = case_qty + c.var / cases
            if guess >= 1 and abs(guess - round(guess)) < p.pack_fit:
                guesses.append((int(round(guess)), float(c.var), cases))
    if not guesses:
        return None
    best = max({g[0] for g in guesses}, key=lambda g: sum(x[0] == g for x in guesses))
    if best == case_qty:
        return None
    var, cases = next((v, n) for g, v, n in guesses if g == best)
    return best, var, cases


def _slotting(case: CaseFile, rows: pd.DataFrame, view: WarehouseView, p: PolicyParams
              ) -> tuple[Action, list[EvidenceItem]]:
    for row in records(rows):
        to = placement(row.type, row.location, row.to_location, lambda x: _type(view, x))
        item = view.item(row.sku)
        if to is None or item is None:
            continue
        dest = view.location(to)
        dtype = cell_str(dest.get("type")) if dest is not None else None
        home = cell_str(item.get("home_location"))
        cost = cell_float(item.get("unit_cost")) or 0.0
        if row.sku in _high_value(view, p) and dtype in OPEN_STORAGE:
            cage = home if home and _type(view, home) == "CAGE" else _first_of_type(view, "CAGE")
            if cage:
                return (Action(type=A.RESLOT, params={"sku": row.sku, "from_location": to,
                                                      "to_location": cage}),
                        _derived(f"{row.sku} costs {num(cost, 2)} each but went to "
                                 f"{to} ({dtype}); secure it in {cage}"))
        limit = cell_float(dest.get("max_weight_kg")) if dest is not None else None
        unit = cell_float(item.get("unit_weight_kg"))
        after = row.dest_after if row.type in TRANSFERS else row.bal_after
        if limit and unit and not math.isnan(after) and after * unit > limit:
            target = home if home and home != to else None
            if target:
                return (Action(type=A.RESLOT, params={"sku": row.sku, "from_location": to,
                                                      "to_location": target}),
                        _derived(f"{to} holds {num(after * unit, 1)} kg of {row.sku} against "
                                 f"a {num(limit)} kg limit"))
        if home and to != home and dtype == "PICK":
            return (Action(type=A.RESLOT, params={"sku": row.sku, "from_location": to,
                                                  "to_location": home}),
                    _derived(f"{row.txn_id} put {row.sku} into {to}, not its home "
                             f"location {home}"))
    counts = rows[rows["type"] == "CYCLE_COUNT"]
    # a blind count in a bin the log never put the SKU in: the system holds none there
    unseen = counts["var"].isna() & counts["expected_qty"].isna() & (counts["qty"] > 0)
    counts = counts.assign(var=counts["var"].where(~unseen, counts["qty"]))
    counts = counts[counts["var"].fillna(0) != 0]
    over = counts[counts["var"] > 0]
    for row in records(over):  # stock counted over in one bin, short in another
        short = counts[(counts["sku"] == row.sku) & (counts["var"] < 0)
                       & (counts["location"] != row.location)]
        for twin in records(short.head(1)):
            qty = min(row.var, -twin.var)
            return (Action(type=A.RESLOT, params={"sku": row.sku, "from_location": row.location,
                                                  "to_location": twin.location}),
                    _derived(f"{row.sku} counted {num(row.var)} EA over at {row.location} and "
                             f"{num(twin.var)} EA short at {twin.location}: {num(qty)} EA were "
                             f"put in the wrong bin; move them back to {twin.location}"))
    locs = sorted(set(counts["location"]) | {x for x in [case.incident.location] if x})
    if locs:
        return Action(type=A.RECOUNT, params={"locations": locs[:6],
                                              "sku": _main_sku(case, rows)}), []
    return _inspect(case, rows), []


def _type(view: WarehouseView, location: str) -> str | None:
    row = view.location(location)
    return cell_str(row.get("type")) if row is not None else None


def _first_of_type(view: WarehouseView, kind: str) -> str | None:
    hit = view.locations[view.locations["type"] == kind]
    return str(hit.index[0]) if len(hit) else None


def _receiving(case: CaseFile, rows: pd.DataFrame, view: WarehouseView, p: PolicyParams
               ) -> tuple[Action, list[EvidenceItem]]:
    for row, diff, line in _asn_differences(case, rows, view):
        item = view.item(row.sku)
        unit = cell_float(item.get("unit_weight_kg")) if item is not None else None
        weights = pd.to_numeric(line["weight_kg"], errors="coerce")
        ordered = float(line["eaches"].sum()) - diff  # eaches the ASN line(s) said
        shipped_asn = bool(unit and weights.notna().all() and ordered > 0) and abs(
            float(weights.sum()) / (ordered * (unit or 1.0)) - 1) < p.weight_fit
        if shipped_asn:
            where = _put_to(row, view)
            return (_adjust(row.sku, where, -diff, ReasonCode.COUNT_CORRECTION),
                    _derived(f"dock weight of {row.txn_id} fits the ASN quantity: the receipt was "
                             f"miscounted by {num(diff)} EA; correct {row.sku} at {where} by "
                             f"{num(-diff)} EA"))
        # no scale: a later count that finds the difference on the shelf says the ASN
        # quantity arrived and the receipt was keyed wrong
        found = rows[(rows["type"] == "CYCLE_COUNT") & (rows["sku"] == row.sku)
                     & (rows["ts"] >= row.ts) & ((rows["var"] + diff).abs() < 0.5)]
        for count in records(found.head(1)):
            return (_adjust(row.sku, count.location, -diff, ReasonCode.COUNT_CORRECTION),
                    _derived(f"count {count.txn_id} found {num(-diff)} EA more of {row.sku} at "
                             f"{count.location} than the system, the difference between "
                             f"{row.txn_id} and its ASN line: the receipt was keyed wrong; "
                             f"correct {count.location} by {num(-diff)} EA"))
        ref = cell_str(row.ref)
        if ref:
            return (Action(type=A.SUPPLIER_CLAIM, params={"ref": ref, "sku": row.sku,
                                                          "qty_delta": _clean(diff)}),
                    _derived(f"{row.txn_id} under {ref} differs from the ASN by {num(diff)} EA"))
    # received as the ASN said, but the dock scale weighed a different quantity
    for row in records(rows[(rows["type"] == "RECEIPT") & (rows["eaches"] > 0)]):
        item = view.item(row.sku)
        unit = cell_float(item.get("unit_weight_kg")) if item is not None else None
        weight, ref = cell_float(row.weight_kg), cell_str(row.ref)
        if not (unit and weight and ref) or abs(weight / (row.eaches * unit) - 1) <= p.weight_off:
            continue
        delta = round(weight / unit - row.eaches)
        if delta:
            return (Action(type=A.SUPPLIER_CLAIM, params={"ref": ref, "sku": row.sku,
                                                          "qty_delta": delta}),
                    _derived(f"dock weight {num(weight)} kg of {row.txn_id} under {ref} is "
                             f"{num(weight / unit, 1)} EA at {num(unit)} kg each, not the "
                             f"{num(row.eaches)} EA received: claim {num(delta)} EA"))
    return _noted_shortfall(rows, view) or (_inspect(case, rows), [])


def _noted_shortfall(rows: pd.DataFrame, view: WarehouseView
                     ) -> tuple[Action, list[EvidenceItem]] | None:
    """A write-off the staff noted as never delivered: claim it from the supplier."""
    posting = noted_shortfall(rows)
    found = claim_ref(posting, view) if posting is not None else None
    if posting is None or found is None:
        return None
    ref, where = found
    return (Action(type=A.SUPPLIER_CLAIM, params={"ref": ref, "sku": posting.sku,
                                                  "qty_delta": _clean(posting.eaches)}),
            _derived(f"{posting.txn_id} writes off {num(-posting.eaches)} EA of {posting.sku} "
                     f"that its note says never arrived as booked: claim "
                     f"{num(-posting.eaches)} EA against {ref} ({where})"))


def _asn_differences(case: CaseFile, rows: pd.DataFrame, view: WarehouseView
                     ) -> Iterator[tuple[Any, float, pd.DataFrame]]:
    """Receipts that differ from their ASN, with the difference in eaches and the line's rows.

    The scorer's finding reads the site's convention (one line per pallet, or the line total
    repeated on partial receipts): its difference is the line's, and the line is every
    receipt of the SKU under that ASN; a receipt it did not flag settled its line. An
    incident without flags (made by hand) reads each receipt against its own
    ``expected_qty``.
    """
    flagged = {f.txn_id: f for f in case.incident.flags if f.code == "RECEIPT_QTY_MISMATCH"}
    rec = rows[(rows["type"] == "RECEIPT") & rows["expected_qty"].notna()]
    for row in records(rec[rec["txn_id"].isin(list(flagged))]):
        per = row.eaches / row.qty if row.qty else 1.0
        diff = cell_float(flagged[row.txn_id].numbers.get("difference"))
        ref = cell_str(row.ref)
        if diff is None or not ref:
            continue
        line = view.rows(sku=row.sku, ref=ref)
        yield row, diff * per, line[line["type"] == "RECEIPT"]
    if case.incident.flags:  # scored: a receipt the scorer left alone settled its line
        return
    for row in records(rec[rec["qty"] != rec["expected_qty"]]):
        per = row.eaches / row.qty if row.qty else 1.0
        yield row, (row.qty - row.expected_qty) * per, rec[rec["txn_id"] == row.txn_id]


def _put_to(receipt: Any, view: WarehouseView) -> str:
    """Where a receipt's stock went: the first putaway of the SKU from the dock after it."""
    pos = view.positions(sku=receipt.sku, location=receipt.location, type="PUTAWAY")
    assert pos is not None
    later = view.ledger.iloc[pos[view.column("location")[pos] == receipt.location]]
    puts = later[later["ts"] >= receipt.ts]
    return str(puts.iloc[0]["to_location"]) if len(puts) else str(receipt.location)


def _shrinkage(case: CaseFile, rows: pd.DataFrame, view: WarehouseView, p: PolicyParams
               ) -> tuple[Action, list[EvidenceItem]]:
    neg = rows[(rows["type"] == "ADJUSTMENT") & (rows["eaches"] < 0)]
    users = neg["user_id"] if len(neg) else rows["user_id"]
    user = str(users.mode().iloc[0]) if users.notna().any() else None
    params = {k: v for k, v in {"sku": _main_sku(case, rows),
                                "location": _main_location(case, rows),
                                "user_id": user}.items() if v}
    derived = []
    if user and len(neg):
        mine = int((neg["user_id"] == user).sum())
        derived = _derived(f"{user} posted {mine} of the {len(neg)} write-offs in the case: "
                           f"investigate with {user}")
    return Action(type=A.INVESTIGATE, params=params), derived
