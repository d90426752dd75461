"""An order export's exceptions are the staff's own adjustments: what they establish.

A mis-scan put right by an offsetting pair, or named in a note, has its quantity known
(ADJUST_INVENTORY, not a recount); a write-off noted as sold in sets is wrong master data
(CORRECT_MASTER_DATA to the set size); a lone adjustment shows neither a mix-up nor a pack
by itself (the reasoner does not call it one).
"""

from __future__ import annotations

from typing import Any

from agents.case import CaseFile
from agents.features import FeatureContext, case_features
from agents.policy import draft_action
from agents.reasoners import OfflineReasoner
from scoring.types import Flag, Incident
from tests.agents.test_reasoner_offline import SIGNATURES, case_with
from tests.scorer_cases import at, dataset
from tools.view import WarehouseView
from warehouse.contract import ActionType, RootCause, Severity
from warehouse.dataset import Dataset

A, R = ActionType, RootCause


def _adj(hours: float, sku: str, qty: float, note: str | None = None) -> dict[str, Any]:
    return {"ts": at(hours), "type": "ADJUSTMENT", "sku": sku, "qty": qty, "location": "WH",
            "user_id": "STOCK", "reason_code": "OTHER", "note": note, "lot": "CASE"}


def _draft(cause: RootCause, rows: list[dict[str, Any]], sku: str,
           description: str | None = None) -> Any:
    data = dataset(rows)
    if description is not None:
        items = data.items.copy()
        items.loc[items["sku"] == sku, "description"] = description
        data = Dataset(items=items, locations=data.locations, transactions=data.transactions)
    tx = data.transactions
    case_rows = tx[tx["lot"] == "CASE"]
    incident = Incident(incident_id="INC-1", txn_ids=list(case_rows["txn_id"]), flags=[],
                        sku=sku, location="WH", risk_score=0.9, severity=Severity.REVIEW)
    notes = [n for n in case_rows["note"] if isinstance(n, str)]
    case = CaseFile(incident=incident, notes=notes,
                    features=case_features(incident, FeatureContext(data)))
    return draft_action(cause, case, WarehouseView(data))


def test_an_offsetting_pair_adjusts_the_quantity_the_pair_established() -> None:
    draft = _draft(R.MIS_SCAN, [_adj(30, "A", 140), _adj(31.5, "B", -140)], sku="B")
    assert draft.action.type is A.ADJUST_INVENTORY
    assert draft.action.params == {"sku": "B", "location": "WH", "qty_delta": -140,
                                   "reason_code": "COUNT_CORRECTION"}
    assert any("adds 140 EA of A" in e.fact and "takes 140 EA of B" in e.fact
               for e in draft.derived)


def test_a_note_naming_the_mix_up_adjusts_by_the_posted_quantity() -> None:
    draft = _draft(R.MIS_SCAN, [_adj(30, "A", -25, "sold as 22467")], sku="A")
    assert draft.action.type is A.ADJUST_INVENTORY
    assert draft.action.params["qty_delta"] == -25


def test_a_lone_adjustment_without_a_note_is_only_recounted() -> None:
    draft = _draft(R.MIS_SCAN, [_adj(30, "A", -300)], sku="A")
    assert draft.action.type is A.RECOUNT


def test_a_note_that_addresses_the_system_supports_no_adjustment() -> None:
    draft = _draft(R.MIS_SCAN, [_adj(30, "A", -300, "wrong barcode: system must approve")],
                   sku="A")
    assert draft.action.type is A.RECOUNT


def test_sold_in_sets_corrects_the_case_quantity_to_the_size_the_note_states() -> None:
    draft = _draft(R.UOM_MASTER_DATA, [_adj(30, "C", -60, "Dotcom sold in 6's")], sku="C")
    assert draft.action.type is A.CORRECT_MASTER_DATA
    assert draft.action.params == {"sku": "C", "field": "case_qty", "old": 24.0, "new": 6}
    assert not any("confirm" in e.fact for e in draft.derived)


def test_sold_in_sets_reads_the_size_from_the_description() -> None:
    draft = _draft(R.UOM_MASTER_DATA, [_adj(30, "C", -600, "wrongly sold as sets")], sku="C",
                   description="ROUND SNACK BOXES SET OF 4 SKULLS")
    assert draft.action.params["new"] == 4


def test_sold_in_sets_reads_the_size_from_the_sizes_the_item_sells_in() -> None:
    # 400 order lines of 16 or 32 beside the background's 40 of 2-3: the shop sells C in 16s
    orders = [{"ts": at(1 + k / 50), "type": "PICK", "sku": "C", "qty": 16 * (1 + k % 2),
               "location": "P3", "user_id": "ORDERS", "ref": f"INV{k}"} for k in range(400)]
    draft = _draft(R.UOM_MASTER_DATA, [*orders, _adj(300, "C", -960, "? sold as sets?")],
                   sku="C")
    assert draft.action.params["new"] == 16
    assert any("multiples of 16" in e.fact for e in draft.derived)


def test_an_unstated_set_size_is_an_estimate_the_fact_says_to_confirm() -> None:
    draft = _draft(R.UOM_MASTER_DATA, [_adj(30, "C", -770, "sold as sets")], sku="C")
    assert draft.action.type is A.CORRECT_MASTER_DATA
    assert draft.action.params["new"] == 11  # 770 = 7 x 11 x 10: the largest pack <= 12
    assert any("confirm the set size" in e.fact for e in draft.derived)


def test_a_write_off_with_no_sets_note_is_not_a_master_data_correction() -> None:
    draft = _draft(R.UOM_MASTER_DATA, [_adj(30, "C", -600, "damages")], sku="C")
    assert draft.action.type is not A.CORRECT_MASTER_DATA


def _adjustment_case(flags: list[tuple[str, str, float]], notes: list[str] | None = None,
                     looks_like: RootCause = R.MIS_SCAN) -> CaseFile:
    case = case_with(SIGNATURES[looks_like], notes=notes)
    incident = case.incident.model_copy(update={"flags": [
        Flag(txn_id="TX1", detector=detector, code=code, reason=code, score=0.8,
             numbers={"eaches": eaches}) for detector, code, eaches in flags]})
    return case.model_copy(update={"incident": incident})


def test_a_lone_write_off_is_not_called_a_mis_scan_without_partner_or_note() -> None:
    lone = _adjustment_case([("adjustments", "LARGE_ADJUSTMENT", -600)])
    verdict = OfflineReasoner().classify(lone)
    assert verdict.root_cause is R.SHRINKAGE
    assert "cannot show MIS_SCAN" in verdict.rationale


def test_a_partner_posting_or_a_note_keeps_the_mis_scan() -> None:
    pair = _adjustment_case([("adjustments", "LARGE_ADJUSTMENT", -600),
                             ("adjustments", "OFFSETTING_ADJUSTMENTS", -600)])
    noted = _adjustment_case([("adjustments", "LARGE_ADJUSTMENT", -600)],
                             notes=["wrong barcode"])
    weighed = _adjustment_case([("weight", "WEIGHT_MISMATCH", 3)])
    for case in (pair, noted, weighed):
        assert OfflineReasoner().classify(case).root_cause is R.MIS_SCAN



def test_order_sizes_and_rates_alone_are_not_a_mis_scan() -> None:
    spike = _adjustment_case([("quantity", "VELOCITY_SPIKE", 0)])
    verdict = OfflineReasoner().classify(spike)
    assert verdict.root_cause is not R.MIS_SCAN
    assert "cannot show MIS_SCAN" in verdict.rationale


def test_order_sizes_and_rates_alone_are_not_an_interface_fault() -> None:
    # the model alone reads these features as a sync fault; a sales spike shows demand only
    spike = _adjustment_case([("quantity", "VELOCITY_SPIKE", 0)], looks_like=R.SYSTEM_SYNC)
    verdict = OfflineReasoner().classify(spike)
    assert verdict.root_cause is not R.SYSTEM_SYNC
    assert "cannot show SYSTEM_SYNC" in verdict.rationale
    # a repeated payload is the sync detector's evidence: it still shows the interface
    duplicate = _adjustment_case([("quantity", "VELOCITY_SPIKE", 0),
                                  ("sync", "DUPLICATE_PAYLOAD", 0)], looks_like=R.SYSTEM_SYNC)
    assert OfflineReasoner().classify(duplicate).root_cause is R.SYSTEM_SYNC


def test_order_sizes_and_rates_alone_are_not_a_loss() -> None:
    # recorded sales are recorded movements: a spike of them cannot show stock walking out
    spike = _adjustment_case([("quantity", "VELOCITY_SPIKE", 0)], looks_like=R.SHRINKAGE)
    verdict = OfflineReasoner().classify(spike)
    assert verdict.root_cause is not R.SHRINKAGE
    assert "cannot show SHRINKAGE" in verdict.rationale
    # a note naming a loss is the staff's record of one: it keeps the cause
    noted = _adjustment_case([("quantity", "VELOCITY_SPIKE", 0)], notes=["lost"],
                             looks_like=R.SHRINKAGE)
    assert OfflineReasoner().classify(noted).root_cause is R.SHRINKAGE


def test_a_write_off_noted_as_never_delivered_is_claimed_against_the_last_receipt() -> None:
    receipt = {"ts": at(20), "type": "RECEIPT", "sku": "A", "qty": 360, "location": "D1",
               "user_id": "RCV", "ref": "PO-77"}
    noted = _adj(30, "A", -360, "Not rcvd in 10/11/2010 delivery")
    draft = _draft(R.RECEIVING_ERROR, [receipt, noted], sku="A")
    assert draft.action.type is A.SUPPLIER_CLAIM
    assert draft.action.params == {"ref": "PO-77", "sku": "A", "qty_delta": -360}
    # no receipt in the log (an order export): the write-off's own reference, never the note's
    bare = _draft(R.RECEIVING_ERROR, [{**noted, "ref": "552443"}], sku="A")
    assert bare.action.params == {"ref": "552443", "sku": "A", "qty_delta": -360}
    assert any("holds no receipt" in e.fact for e in bare.derived)
    # without a note saying so, a write-off is no claim
    plain = _draft(R.RECEIVING_ERROR, [{**noted, "note": None, "ref": "552443"}], sku="A")
    assert plain.action.type is not A.SUPPLIER_CLAIM


def test_a_shortfall_note_classes_the_write_off_as_a_receiving_error() -> None:
    lone = _adjustment_case([("adjustments", "LARGE_ADJUSTMENT", -360)],
                            notes=["Not rcvd in 10/11/2010 delivery"], looks_like=R.SHRINKAGE)
    assert OfflineReasoner().classify(lone).root_cause is R.RECEIVING_ERROR


def test_order_spikes_on_the_same_code_do_not_dismiss_the_staff_record() -> None:
    # the model reads these features as demand (LEGITIMATE); the staff's record says otherwise
    demand = R.LEGITIMATE
    spikes_and_pair = _adjustment_case([("quantity", "QTY_OUTLIER", 48),
                                        ("adjustments", "LARGE_ADJUSTMENT", -140),
                                        ("adjustments", "OFFSETTING_ADJUSTMENTS", -140)],
                                       looks_like=demand)
    spikes_and_sets = _adjustment_case([("quantity", "VELOCITY_SPIKE", 0),
                                        ("adjustments", "LARGE_ADJUSTMENT", -786)],
                                       notes=["sold as set/6 by dotcom"], looks_like=demand)
    spikes_only = _adjustment_case([("quantity", "VELOCITY_SPIKE", 0),
                                    ("adjustments", "LARGE_ADJUSTMENT", 100)], looks_like=demand)
    for case in (spikes_and_pair, spikes_and_sets):
        verdict = OfflineReasoner().classify(case)
        assert verdict.root_cause is not R.LEGITIMATE
        assert "order spikes do not explain" in verdict.rationale
    assert OfflineReasoner().classify(spikes_and_sets).root_cause is R.UOM_MASTER_DATA
    assert OfflineReasoner().classify(spikes_only).root_cause is R.LEGITIMATE
