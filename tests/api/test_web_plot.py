"""The ticket plot: which series it draws, and what it marks on them."""

from __future__ import annotations

import pandas as pd

from api.web.balance_plot import Series, balance_frame, choose_series, render_balance_svg
from warehouse.ledger import with_balances


def log(*rows: tuple) -> pd.DataFrame:
    cols = ["txn_id", "ts", "type", "sku", "qty", "location", "to_location", "expected_qty"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["uom"] = "EA"
    return frame


LOG = log(
    ("r1", "2025-01-01T08:00Z", "RECEIPT", "A", 20, "DOCK", None, 20),
    ("p1", "2025-01-01T09:00Z", "PUTAWAY", "A", 20, "DOCK", "B1", None),
    ("r2", "2025-01-01T08:30Z", "RECEIPT", "LOOK", 10, "DOCK", None, 10),
    ("p2", "2025-01-01T09:30Z", "PUTAWAY", "LOOK", 10, "DOCK", "B2", None),
    ("k1", "2025-01-02T10:00Z", "PICK", "A", 5, "B1", None, None),
    ("c1", "2025-01-03T10:00Z", "CYCLE_COUNT", "A", 12, "B1", None, 15),
    ("m1", "2025-01-03T11:00Z", "MOVE", "A", 3, "B1", "B3", None),
).sort_values("ts", kind="stable").reset_index(drop=True)


def test_look_alike_from_evidence_comes_first_then_other_locations() -> None:
    series = choose_series(LOG, sku="A", location="B1", txn_ids=["k1", "m1"],
                           evidence_text="weight fits LOOK (E4); B9 is not in the log",
                           action_params={"locations": ["B1", "DOCK"]})
    assert series == [Series("A", "B1", "ticket"), Series("LOOK", "B2", "look-alike SKU"),
                      Series("A", "B3", "other location")]


def test_ticket_without_sku_takes_its_first_transaction() -> None:
    assert choose_series(LOG, sku=None, location=None, txn_ids=["k1"]) == [
        Series("A", "B1", "ticket")]
    assert choose_series(LOG, sku=None, location=None, txn_ids=["nope"]) == []


def test_balance_frame_follows_moves_in_and_out_and_keeps_counts() -> None:
    ledger = with_balances(LOG)
    frame = balance_frame(ledger, "A", "B1")
    assert frame["txn_id"].tolist() == ["p1", "k1", "c1", "m1"]
    assert frame["balance"].tolist() == [20, 15, 15, 12]
    counted = frame.dropna(subset=["counted"])
    assert counted[["counted", "expected"]].values.tolist() == [[12, 15]]
    assert balance_frame(ledger, "A", "B3")["balance"].tolist() == [3]


def test_svg_marks_flagged_rows_and_counts() -> None:
    ledger = with_balances(LOG)
    svg = render_balance_svg(ledger, [Series("A", "B1", "ticket"), Series("A", "B9", "x")],
                             flagged=["k1"]).decode()
    assert svg.startswith("<?xml") and "flagged transaction" in svg and "cycle count" in svg
    assert "no transactions for A @ B9" in svg
    empty = render_balance_svg(ledger, [], flagged=[]).decode()
    assert "no SKU and location to plot" in empty
