"""Which action fits (contract section 3): the policy proposes what the warehouse knows."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agents.case import CaseFile
from agents.features import FeatureContext, case_features
from agents.params import PolicyParams, high_value_skus
from agents.policy import draft_action
from scoring import Scorer
from scoring.types import Incident
from tests.scorer_cases import at, dataset
from tools.view import WarehouseView
from warehouse.contract import ActionType, RootCause, Severity

A, R = ActionType, RootCause


def _draft(cause: RootCause, extra: list[dict[str, Any]], sku: str = "A",
           location: str | None = "P1") -> tuple[Any, list[str]]:
    data = dataset([{**row, "lot": "CASE"} for row in extra])  # the case's rows, marked
    tx = data.transactions
    ids = list(tx.loc[tx["lot"] == "CASE", "txn_id"])
    incident = Incident(incident_id="INC-1", txn_ids=ids, flags=[], sku=sku, location=location,
                        risk_score=0.9, severity=Severity.REVIEW)
    view = WarehouseView(data)
    case = CaseFile(incident=incident, features=case_features(incident, FeatureContext(data)))
    return draft_action(cause, case, view), ids


def test_one_handling_scanned_twice_voids_the_extra_scan() -> None:
    scan = {"type": "PICK", "sku": "A", "qty": 3, "location": "P1", "user_id": "U7",
            "device_id": "G9", "ref": "SO-77"}
    draft, ids = _draft(R.MIS_SCAN, [{**scan, "ts": at(30)}, {**scan, "ts": at(30.002)}])
    assert draft.action.type is A.VOID_DUPLICATE
    assert draft.action.params == {"txn_id": ids[1]}


def test_a_double_scan_on_a_site_without_devices_voids_the_extra_scan() -> None:
    scan = {"type": "PICK", "sku": "A", "qty": 3, "location": "P1", "user_id": "U7",
            "ref": "SO-78"}  # no device_id: the user is the scanner
    draft, ids = _draft(R.MIS_SCAN, [{**scan, "ts": at(30)}, {**scan, "ts": at(30.003)}])
    assert draft.action.type is A.VOID_DUPLICATE
    assert draft.action.params == {"txn_id": ids[1]}
    other = {**scan, "user_id": "U8", "ts": at(30.003)}  # another picker: two handlings
    draft, _ = _draft(R.MIS_SCAN, [{**scan, "ts": at(30)}, other])
    assert draft.action.type is not A.VOID_DUPLICATE


def test_a_receipt_posted_at_a_face_not_its_home_reslots_it_home() -> None:
    receipt = {"ts": at(30), "type": "RECEIPT", "sku": "C", "qty": 24, "expected_qty": 24,
               "location": "P9", "user_id": "U7", "ref": "ASN-5"}  # direct to storage
    draft, _ = _draft(R.SLOTTING, [receipt], sku="C", location="P9")
    assert draft.action.type is A.RESLOT
    assert draft.action.params == {"sku": "C", "from_location": "P9", "to_location": "P3"}


def test_a_weight_that_fits_a_look_alike_only_recounts() -> None:
    # 3 EA scanned as A (0.36 kg each) weigh 3.18 kg = 3 x B (1.06 kg): B was likely picked,
    # but only a count can say what is on either shelf
    pick = {"ts": at(30), "type": "PICK", "sku": "A", "qty": 3, "location": "P1",
            "user_id": "U7", "weight_kg": 3.18}
    draft, _ = _draft(R.MIS_SCAN, [pick])
    assert draft.action.type is A.RECOUNT
    assert draft.action.params == {"locations": ["P1", "P2"], "sku": "A"}
    assert "fits B" in draft.derived[0].fact


def test_wrong_bin_putaway_reslots_from_the_over_bin_to_the_short_one() -> None:
    counts = [
        {"ts": at(30), "type": "CYCLE_COUNT", "sku": "A", "qty": 12, "expected_qty": 0,
         "location": "P9", "user_id": "C1"},
        {"ts": at(30.1), "type": "CYCLE_COUNT", "sku": "A", "qty": 358, "expected_qty": 370,
         "location": "P1", "user_id": "C1"},
    ]
    draft, _ = _draft(R.SLOTTING, counts)
    assert draft.action.type is A.RESLOT
    assert draft.action.params == {"sku": "A", "from_location": "P9", "to_location": "P1"}
    assert draft.value_at_risk == pytest.approx(12 * 1.0)


def test_blind_counts_are_read_against_the_running_balance() -> None:
    # a site that counts blind shows no expected_qty: the variance is against the ledger
    counts = [
        {"ts": at(30), "type": "CYCLE_COUNT", "sku": "A", "qty": 12, "location": "P9",
         "user_id": "C1"},
        {"ts": at(30.1), "type": "CYCLE_COUNT", "sku": "A", "qty": 358, "location": "P1",
         "user_id": "C1"},
    ]
    draft, _ = _draft(R.SLOTTING, [{"ts": at(29), "type": "MOVE", "sku": "A", "qty": 1,
                                     "location": "P1", "to_location": "P9", "user_id": "U1"},
                                    *counts])
    assert draft.action.type is A.RESLOT
    assert draft.action.params == {"sku": "A", "from_location": "P9", "to_location": "P1"}
    unseen = [{**counts[0], "location": "R1"}]  # a bin no row touched before: no balance
    draft, _ = _draft(R.SLOTTING, unseen, location="R1")
    assert draft.action.type is A.RECOUNT
    # ... but with the home short, A found where the system never had it was put there
    draft, _ = _draft(R.SLOTTING, [*unseen, counts[1]], location="P1")
    assert draft.action.type is A.RESLOT
    assert draft.action.params == {"sku": "A", "from_location": "R1", "to_location": "P1"}


def test_receipt_keyed_wrong_that_a_count_settles_is_adjusted_without_a_scale() -> None:
    # no dock weight: 12 EA keyed against an ASN line of 21; the count finds the other 9
    rows = [{"ts": at(30), "type": "RECEIPT", "sku": "C", "qty": 12, "expected_qty": 21,
             "location": "D1", "user_id": "U7", "ref": "ASN-6"},
            {"ts": at(30.5), "type": "PUTAWAY", "sku": "C", "qty": 12, "location": "D1",
             "to_location": "R1", "user_id": "U7"},
            {"ts": at(50), "type": "CYCLE_COUNT", "sku": "C", "qty": 21, "expected_qty": 12,
             "location": "R1", "user_id": "C1"}]
    draft, _ = _draft(R.RECEIVING_ERROR, rows, sku="C", location="D1")
    assert draft.action.type is A.ADJUST_INVENTORY
    assert draft.action.params["location"] == "R1" and draft.action.params["qty_delta"] == 9
    # the count agrees with the receipt: the supplier shipped short, claim it
    draft, _ = _draft(R.RECEIVING_ERROR, [*rows[:2], {**rows[2], "qty": 12}], sku="C",
                      location="D1")
    assert draft.action.type is A.SUPPLIER_CLAIM
    assert draft.action.params == {"ref": "ASN-6", "sku": "C", "qty_delta": -9}


def _scored_draft(cause: RootCause, extra: list[dict[str, Any]]) -> Any:
    """The policy's draft for the scorer's incident over the first of ``extra``'s rows."""
    data = dataset([{**row, "lot": "CASE"} for row in extra])
    tx = data.transactions
    first = tx.loc[tx["lot"] == "CASE", "txn_id"].iloc[0]
    incident = next(i for i in Scorer().fit(data).score_batch(data).incidents
                    if first in i.txn_ids)
    case = CaseFile(incident=incident, features=case_features(incident, FeatureContext(data)))
    return draft_action(cause, case, WarehouseView(data))


def test_a_line_total_repeated_on_pallets_is_claimed_or_adjusted_for_the_line() -> None:
    # one ASN line of 10 EA, its total repeated on two pallets that bring 6 + 3
    pallets = [{"ts": at(30 + k / 10), "type": "RECEIPT", "sku": "C", "qty": q,
                "expected_qty": 10, "location": "D1", "user_id": "U7", "ref": "ASN-7"}
               for k, q in enumerate((6, 3))]
    draft = _scored_draft(R.RECEIVING_ERROR, pallets)
    assert draft.action.type is A.SUPPLIER_CLAIM
    assert draft.action.params == {"ref": "ASN-7", "sku": "C", "qty_delta": -1}  # not -4
    # the dock scale weighed the whole line (10 x 0.05 kg): the receipts were keyed wrong
    weighed = [{**pallets[0], "weight_kg": 0.35}, {**pallets[1], "weight_kg": 0.15}]
    draft = _scored_draft(R.RECEIVING_ERROR, weighed)
    assert draft.action.type is A.ADJUST_INVENTORY
    assert draft.action.params["qty_delta"] == 1


def test_suspected_loss_is_investigated_naming_the_user() -> None:
    offs = [{"ts": at(30 + 24 * k), "type": "ADJUSTMENT", "sku": "H", "qty": -1,
             "location": "CG1", "user_id": "U66", "reason_code": "LOST"} for k in range(3)]
    draft, _ = _draft(R.SHRINKAGE, offs, sku="H", location="CG1")
    assert draft.action.type is A.INVESTIGATE
    assert draft.action.params["user_id"] == "U66"
    assert any("U66 posted 3 of the 3" in e.fact for e in draft.derived)
    assert draft.value_at_risk == pytest.approx(3 * 400.0)


def test_an_interface_fault_without_a_twin_investigates_the_interface() -> None:
    late = [{"ts": at(30), "type": "PICK", "sku": "C", "qty": 5, "location": "P3",
             "user_id": "U1"}]
    draft, _ = _draft(R.SYSTEM_SYNC, late, sku="C", location="P3")
    assert draft.action.type is A.INVESTIGATE
    assert any("interface" in e.fact for e in draft.derived)


def test_policy_params_are_typed_and_closed() -> None:
    with pytest.raises(ValidationError):
        PolicyParams(weight_fit=0.05, unknown=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        PolicyParams(stop_risk=1.5)
    assert all(f.description for f in PolicyParams.model_fields.values())


def test_high_value_is_read_from_the_site() -> None:
    data = dataset()
    assert high_value_skus(data.items, data.locations) == {"H"}  # 400 each, and caged
    lone = data.items[data.items["sku"] == "A"]
    assert high_value_skus(lone, data.locations.iloc[0:0]) == frozenset()
