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


def test_ticket_plot_is_windowed_on_the_incident_marks_the_divergence_and_skips_neighbours(
) -> None:
    from types import SimpleNamespace

    from api.web.balance_plot import first_divergence, incident_window, ticket_plot_svg

    late = log(("z1", "2025-03-01T10:00Z", "PICK", "A", 1, "B1", None, None))
    ledger = with_balances(pd.concat([LOG, late], ignore_index=True))
    facts = ["First divergence at B1 on 2025-01-03T10:00:00Z: count c1 found 12 EA against 15",
             "Neighbours of B1: B2 (0.1 m), B3 (1.4 m)",
             "Look-alike of A: LOOK (description similarity 0.6)"]
    divergence = first_divergence(facts)
    assert divergence is not None and divergence.location == "B1"
    start, end = incident_window(ledger, ["k1", "c1"], divergence)
    assert start == pd.Timestamp("2024-12-31T10:00") and end == pd.Timestamp("2025-01-05T10:00")
    record = SimpleNamespace(sku="A", location="B1", txn_ids=["k1", "c1"],
                             evidence=[{"fact": f} for f in facts],
                             action={"type": "RECOUNT", "params": {"locations": ["B1"]}})
    svg = ticket_plot_svg(ledger, record).decode()
    assert svg.count("<title>first divergence</title>") == 1
    assert "A @ B1" in svg and "LOOK @" not in svg and "B3" not in svg  # candidates, not related
    assert "03-01" not in svg  # the far-away pick is outside the window
    mirrored = SimpleNamespace(**{**vars(record), "evidence": [
        {"fact": "MIRRORED_VARIANCE variance=-3 other_sku=LOOK other_location=B2"}]})
    assert "LOOK @ B2  (look-alike SKU)" in ticket_plot_svg(ledger, mirrored).decode()
