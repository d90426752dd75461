"""Read-only tools over a crafted warehouse: each tool's answer, and the model-facing envelope."""

from __future__ import annotations

import json

import pytest

from agents.reasoners.toolbox import make_toolbox, tool_schemas
from tests.crafted_warehouse import crafted
from tools import registry
from tools.count_history import count_history
from tools.duplicate_candidates import duplicate_candidates
from tools.item_master import item_master
from tools.ledger_replay import ledger_replay
from tools.location_details import location_details
from tools.lookalike_skus import lookalike_skus
from tools.receipt_vs_asn import receipt_vs_asn
from tools.recent_transactions import recent_transactions
from tools.registry import call_tool, ticket_scope
from tools.user_activity import user_activity
from tools.view import WarehouseView


@pytest.fixture(scope="module")
def view() -> WarehouseView:
    return WarehouseView(crafted())


def test_item_master(view: WarehouseView) -> None:
    item = item_master(view, "COLA-500")
    assert item is not None and (item.case_qty, item.unit_weight_kg) == (12, 0.55)
    assert "case quantity 12, unit weight 0.55 kg" in item.facts()[0]
    assert item_master(view, "NOPE") is None


def test_lookalikes_by_barcode_and_weight_fit(view: WarehouseView) -> None:
    found = lookalike_skus(view, "COLA-500", weight_kg=2.1, eaches=6)
    assert found is not None
    best = found.candidates[0]
    assert best.sku == "COLA-330" and best.gtin_distance == 2 and best.weight_error == 0.0
    assert found.own_weight_error == pytest.approx(2.1 / (6 * 0.55) - 1, abs=1e-4)
    assert any("fits look-alike COLA-330" in f for f in found.facts())


def test_location_neighbours_by_distance_then_by_id(view: WarehouseView) -> None:
    info = location_details(view, "A-01-1", neighbours=2)
    assert info is not None and info.type == "PICK" and info.max_weight_kg == 100
    assert [(n.location_id, n.distance_m) for n in info.neighbours] == [("A-01-2", 1.0),
                                                                       ("A-02-1", 4.0)]
    data = crafted()
    data.locations[["x_m", "y_m"]] = None
    info = location_details(WarehouseView(data), "A-01-2", neighbours=2)
    assert info is not None and [n.location_id for n in info.neighbours] == ["A-01-1", "A-02-1"]
    assert all(n.distance_m is None for n in info.neighbours)


def test_ledger_replay_stops_at_first_divergence(view: WarehouseView) -> None:
    replay = ledger_replay(view, "COLA-500", "A-01-1")
    assert replay is not None and replay.divergence is not None
    assert replay.divergence.txn_id == "T09" and replay.divergence.kind == "count_variance"
    assert (replay.divergence.system, replay.divergence.observed) == (28, 30)
    assert [e.balance for e in replay.events] == [48, 42, 36, 32, 28, 28]
    negative = ledger_replay(view, "SOAP-1", "A-02-1")
    assert negative is not None and negative.divergence is not None
    assert negative.divergence.kind == "negative_balance" and negative.divergence.system == -3
    assert ledger_replay(view, "SOAP-1", "CAGE-1") is None


def test_recent_transactions_filters_and_balances(view: WarehouseView) -> None:
    rows = recent_transactions(view, location="A-01-1", device_id="RF-1")
    assert [r.txn_id for r in rows] == ["T05", "T06"]
    assert (rows[1].balance_before, rows[1].balance_after) == (42, 36)
    # a location matches as destination too
    assert [r.txn_id for r in recent_transactions(view, location="A-01-1", limit=2,
                                                  until="2025-03-03T09:00:00Z")] == ["T02"]
    assert "note" not in rows[0].fact().lower()


def test_count_history(view: WarehouseView) -> None:
    hist = count_history(view, "COLA-330")
    assert hist is not None and (hist.short, hist.over, hist.net_variance) == (1, 0, -4)
    assert count_history(view, "SOAP-1") is None


def test_receipt_vs_asn_with_dock_weight(view: WarehouseView) -> None:
    check = receipt_vs_asn(view, "ASN-1")
    assert check is not None and len(check.lines) == 2
    short = next(ln for ln in check.lines if ln.sku == "COLA-500")
    assert (short.received, short.expected, short.difference) == (48, 60, -12)
    assert short.weight_implied_eaches == 60.0
    assert "ASN expected 60 (difference -12 EA)" in check.facts()[0]
    assert receipt_vs_asn(view, "ASN-404") is None


def test_user_activity_against_peers(view: WarehouseView) -> None:
    act = user_activity(view, "U9")
    assert act is not None
    assert (act.negative_adjustments, act.written_off_eaches) == (2, 2)
    assert act.peer_median_negative_adjustments == 0 and act.negative_adjustment_rank == 1.0


def test_duplicate_candidates(view: WarehouseView) -> None:
    same = duplicate_candidates(view, "T07")
    assert same is not None and [(c.txn_id, c.kind) for c in same.candidates] == [
        ("T08", "same_payload")]
    rescan = duplicate_candidates(view, "T06")
    assert rescan is not None and [(c.txn_id, c.kind, c.gap_s) for c in rescan.candidates] == [
        ("T05", "rescan", 20.0)]
    assert duplicate_candidates(view, "T11") is None


def test_envelope_ok_no_data_and_errors(view: WarehouseView,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ok = call_tool(view, "receipt_vs_asn", {"ref": "ASN-1"})
    assert ok.status == "ok" and ok.data["lines"][0]["txn_id"] in {"T01", "T03"}
    assert call_tool(view, "item_master", {"sku": "NOPE"}).status == "no_data"
    bad = call_tool(view, "recent_transactions", {"limit": 3})
    assert bad.status == "error" and "at least one of" in bad.data
    assert call_tool(view, "delete_everything", {}).status == "error"

    def boom(*_: object) -> None:
        raise KeyError("secret internals")

    spec = registry.TOOLS["item_master"]
    monkeypatch.setitem(registry.TOOLS, "item_master",
                        type(spec)(spec.name, spec.description, spec.params, boom))
    failed = call_tool(view, "item_master", {"sku": "COLA-500"})
    assert failed.status == "error" and failed.data == "item_master failed: KeyError"
    assert "Traceback" not in json.dumps(failed.model_dump(mode="json"))


def test_schemas_are_openai_function_tools() -> None:
    schemas = tool_schemas()
    names = {s["function"]["name"] for s in schemas}
    assert names == set(registry.TOOLS) and len(names) == 10
    receipt = next(s for s in schemas if s["function"]["name"] == "receipt_vs_asn")
    assert receipt["type"] == "function"
    assert receipt["function"]["parameters"]["required"] == ["ref"]


def test_toolbox_budget_is_per_ticket(view: WarehouseView) -> None:
    box = make_toolbox(view, max_calls=2)
    with ticket_scope("TICKET-1"):
        answers = [json.loads(box.call("item_master", {"sku": "COLA-500"})) for _ in range(3)]
    assert [a["status"] for a in answers] == ["ok", "ok", "error"]
    assert "budget" in answers[2]["data"]
    with ticket_scope("TICKET-2"):
        assert json.loads(box.call("item_master", {"sku": "SOAP-1"}))["status"] == "ok"
