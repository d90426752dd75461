"""Site conventions the scorer must read (issue 10), and what it learns is normal at a site."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from scoring import Scorer
from scoring.detectors.sync import REPEATED_LINE_IN_REF
from scoring.params import ScorerParams
from scoring.site import REPORT_COLUMNS
from tests.scorer_cases import at, dataset
from warehouse.dataset import Dataset
from warehouse.settings import get_settings


def flags_on_extra(data: Dataset, **kw: Any) -> dict[str, list]:
    """Reason code -> flags on the rows of users starting with X (the crafted rows)."""
    tx = data.transactions
    extra = set(tx.loc[tx["user_id"].str.startswith("X"), "txn_id"])
    out: dict[str, list] = {}
    for f in Scorer(**kw).fit(data).score_batch(data).flags:
        if f.txn_id in extra:
            out.setdefault(f.code, []).append(f)
    return out


def receipt(h: float, qty: float, expected: float, ref: str, sku: str = "C") -> dict[str, Any]:
    return {"ts": at(h), "type": "RECEIPT", "sku": sku, "qty": qty, "expected_qty": expected,
            "location": "D1", "user_id": "X2", "ref": ref}


def transfer(h: float, sku: str, to: str, kind: str = "PUTAWAY", src: str = "D1",
             qty: float = 4) -> dict[str, Any]:
    return {"ts": at(h), "type": kind, "sku": sku, "qty": qty, "location": src,
            "to_location": to, "user_id": "X3"}


# -- ScorerParams -----------------------------------------------------------------------------


def test_unknown_scorer_param_raises_instead_of_being_ignored() -> None:
    data = dataset()
    with pytest.raises(ValidationError, match="qty_zz"):
        Scorer(params={"qty_zz": 6.0}).fit(data)
    with pytest.raises(ValidationError):
        Scorer(params={"weight_tolerance": 0.5}).fit(data)  # must be > 1


def test_every_scorer_param_says_what_it_means_and_its_unit() -> None:
    for name, spec in ScorerParams.model_fields.items():
        assert spec.description and spec.description.rstrip(")").count("(") >= 1, name


def test_operator_setting_overrides_defaults_and_explicit_params_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TALLY_SCORER_PARAMS", '{"qty_z": 7.5, "double_scan_s": 30}')
    get_settings.cache_clear()
    try:
        scorer = Scorer(params={"qty_z": 6.0}).fit(dataset())
        assert scorer.params_["qty_z"] == 6.0 and scorer.params_["double_scan_s"] == 30
        monkeypatch.setenv("TALLY_SCORER_PARAMS", '{"no_such_param": 1}')
        get_settings.cache_clear()
        with pytest.raises(ValidationError):
            Scorer().fit(dataset())
    finally:
        get_settings.cache_clear()


# -- the detector report and stand-down -----------------------------------------------------


def test_detector_report_lists_every_rule_with_eligible_fired_share_and_action() -> None:
    report = Scorer().fit(dataset()).detector_report_
    assert list(report.columns) == REPORT_COLUMNS
    # the background has no receipts: the receiving detector is listed as skipped, with why
    receiving = report[report["detector"] == "receiving"]
    assert len(receiving) == 1 and receiving["action"].iloc[0] == "skipped: no receipts in the log"
    by_code = report[report["code"] != ""].set_index("code")
    assert {"DOUBLE_SCAN", "VELOCITY_SPIKE", REPEATED_LINE_IN_REF} <= set(by_code.index)
    vel = by_code.loc["VELOCITY_SPIKE"]  # 4 items x 4 picks x 10 days
    assert (vel["eligible"], vel["fired"], vel["action"]) == (160, 0, "kept")


def test_rule_firing_on_most_of_its_rows_is_stood_down_for_the_site_and_says_so() -> None:
    # this site keeps its high-value item in reserve every day: that is its practice
    usual = [transfer(0.5 + k * 0.05, "H", "R1", qty=1) for k in range(220)]
    data = dataset(usual)
    scorer = Scorer().fit(data)
    row = scorer.detector_report_.set_index("code").loc["HIGH_VALUE_OUTSIDE_CAGE"]
    assert row["eligible"] == 220 and row["fired"] == 220 and row["share"] == 1.0
    assert row["action"].startswith("stood down")
    codes = {f.code for f in scorer.score_batch(data).flags}
    assert "HIGH_VALUE_OUTSIDE_CAGE" not in codes
    # the same single putaway at a site without that practice is flagged
    assert "HIGH_VALUE_OUTSIDE_CAGE" in flags_on_extra(dataset([transfer(30.0, "H", "R1")]))


def test_outlier_rule_on_a_heavy_tailed_site_keeps_only_its_most_extreme_rows() -> None:
    # a retailer whose customers now and then order one item in bulk: its normal tail
    rows = [{"ts": at(k * 0.07 + i * 0.001), "type": "PICK", "sku": f"S{i}",
             "qty": 40 if k == 10 else 1, "location": "P9", "user_id": "ORD", "ref": f"I{i}-{k}"}
            for i in range(150) for k in range(21)]
    rows.append({"ts": at(200.0), "type": "PICK", "sku": "S7", "qty": 2000, "location": "P9",
                 "user_id": "X9", "ref": "INVX"})
    data = dataset(rows)
    scorer = Scorer().fit(data)
    row = scorer.detector_report_.set_index("code").loc["QTY_OUTLIER"]
    assert row["fired"] > 30 and row["action"].startswith("re-thresholded")
    kept = [f for f in scorer.score_batch(data).flags if f.code == "QTY_OUTLIER"]
    assert len(kept) <= 0.001 * row["eligible"] + 1
    assert any(f.user_id == "X9" for f in kept)


# -- location roles ---------------------------------------------------------------------------


def test_high_value_receipt_at_the_dock_and_move_to_staging_are_not_outside_the_cage() -> None:
    dock = [{"ts": at(30.0), "type": "RECEIPT", "sku": "H", "qty": 4, "expected_qty": 4,
             "location": "D1", "user_id": "X1", "ref": "ASN7"},
            transfer(30.5, "H", "S1", kind="MOVE", src="D1"),
            transfer(31.0, "H", "CG1", src="S1")]
    assert "HIGH_VALUE_OUTSIDE_CAGE" not in flags_on_extra(dataset(dock))
    assert "HIGH_VALUE_OUTSIDE_CAGE" in flags_on_extra(dataset([transfer(30.0, "H", "R1")]))


def test_site_without_a_cage_has_no_cage_rule() -> None:
    data = dataset([transfer(30.0, "H", "R1")])
    locs = data.locations
    locs = locs.assign(type=locs["type"].replace({"CAGE": "RESERVE"}))
    assert "HIGH_VALUE_OUTSIDE_CAGE" not in flags_on_extra(
        Dataset(data.items, locs, data.transactions))


def test_weight_limit_applies_to_storage_not_to_stock_in_passage() -> None:
    heavy = dict(transfer(30.0, "B", "Q1", kind="MOVE", src="P2", qty=2), weight_kg=600.0)
    data = dataset([heavy])
    data.locations.loc[data.locations["location_id"] == "Q1", "max_weight_kg"] = 50.0
    assert "OVER_WEIGHT_LIMIT" not in flags_on_extra(data)
    assert "OVER_WEIGHT_LIMIT" in flags_on_extra(dataset([dict(heavy, to_location="R1")]))


def test_receipt_posted_straight_at_storage_is_a_placement_the_location_rules_read() -> None:
    # a direct-to-storage site writes no putaway: the receipt at R1 is where H was put
    direct = {"ts": at(30.0), "type": "RECEIPT", "sku": "H", "qty": 4, "expected_qty": 4,
              "location": "R1", "user_id": "X1", "ref": "ASN8"}
    fired = flags_on_extra(dataset([direct]))
    assert fired["HIGH_VALUE_OUTSIDE_CAGE"][0].numbers["to_location"] == "R1"
    heavy = dict(direct, sku="B", qty=40, weight_kg=170.0)  # R1 holds at most 100 kg
    assert "OVER_WEIGHT_LIMIT" in flags_on_extra(dataset([heavy]))
    away = dict(direct, sku="C", location="P9")  # C's home is P3
    assert "AWAY_FROM_HOME" in flags_on_extra(dataset([away]))
    assert not flags_on_extra(dataset([dict(away, location="P3")]))  # its own face
    assert not flags_on_extra(dataset([dict(direct, location="D1")]))  # at the dock


def test_pallets_of_one_asn_that_together_overload_a_place_are_one_overload() -> None:
    # five pallets of B, 35 kg each, to R1 (at most 100 kg): each under the limit, the place
    # over it from the third on
    pallets = [dict(transfer(30.0 + 0.2 * k, "B", "R1", qty=33), weight_kg=35.0, ref="ASN9")
               for k in range(5)]
    fired = flags_on_extra(dataset(pallets))["OVER_WEIGHT_LIMIT"]
    assert [f.numbers["load_kg"] for f in fired] == [105.0, 140.0, 175.0]
    # the same pallets under five documents are three loads over R1: how the site uses it
    apart = [dict(p, ref=f"ASN{k}") for k, p in enumerate(pallets)]
    assert "OVER_WEIGHT_LIMIT" not in flags_on_extra(dataset(apart))


def test_a_receipt_and_its_putaway_weighed_off_alike_are_one_weighing() -> None:
    # one ASN line of B keyed 60 where 6 came: off by x0.1 at the dock and again at putaway
    def line(h: float, ref: str) -> list[dict[str, Any]]:
        return [dict(receipt(h, 60, 60, ref, sku="B"), weight_kg=6.4),
                dict(transfer(h + 0.5, "B", "P2", qty=60), weight_kg=6.4, ref=ref)]

    assert "WEIGHT_RATIO_CONSTANT" not in flags_on_extra(dataset(line(30.0, "ASN5")))
    # two pallets weighed apart, both x0.1: that ratio repeats, the master is wrong
    fired = flags_on_extra(dataset([*line(30.0, "ASN5"), *line(30.1, "ASN5")]))
    assert {f.numbers["rows"] for f in fired["WEIGHT_RATIO_CONSTANT"]} == {2}


def test_blind_count_in_a_bin_the_log_never_stocked_reads_against_an_empty_bin() -> None:
    # C lives at P3; a blind count finds 24 of it at P2, where no row ever put it
    count = {"ts": at(30.0), "type": "CYCLE_COUNT", "sku": "C", "qty": 24, "location": "P2",
             "user_id": "X4"}
    fired = flags_on_extra(dataset([count]))["COUNT_VARIANCE"]
    assert [(f.numbers["expected"], f.numbers["variance"]) for f in fired] == [(0.0, 24.0)]
    # a SKU the log never held anywhere says nothing about that bin
    assert not flags_on_extra(dataset([dict(count, sku="Z")]))


def test_a_location_overloaded_again_and_again_is_how_the_site_uses_it() -> None:
    heavy = [dict(transfer(30.0 + 24 * k, "B", "R1", qty=100), weight_kg=110.0)
             for k in range(4)]  # R1 holds at most 100 kg
    assert "OVER_WEIGHT_LIMIT" not in flags_on_extra(dataset(heavy))
    assert len(flags_on_extra(dataset(heavy[:2]))["OVER_WEIGHT_LIMIT"]) == 2


# -- both expected_qty conventions ------------------------------------------------------------


def test_asn_with_one_line_per_pallet_compares_each_receipt_with_its_own_line() -> None:
    pallets = [receipt(30.0, 40, 40, "ASN1"), receipt(30.2, 40, 40, "ASN1"),
               receipt(30.4, 25, 25, "ASN1")]
    assert "RECEIPT_QTY_MISMATCH" not in flags_on_extra(dataset(pallets))
    short = [receipt(30.0, 40, 40, "ASN1"), receipt(30.2, 32, 40, "ASN1")]
    hits = flags_on_extra(dataset(short))["RECEIPT_QTY_MISMATCH"]
    assert len(hits) == 1 and hits[0].numbers["difference"] == -8
    assert hits[0].numbers["asn_qty"] == 80 and hits[0].numbers["convention"] == "line per pallet"


def test_asn_line_total_repeated_on_partials_sums_them_and_a_later_part_completes_it() -> None:
    parts = [receipt(30.0, 40, 70, "ASN2"), receipt(31.0, 30, 70, "ASN2")]
    assert "RECEIPT_QTY_MISMATCH" not in flags_on_extra(dataset(parts))
    short = [receipt(30.0, 40, 70, "ASN2"), receipt(31.0, 22, 70, "ASN2")]
    hits = flags_on_extra(dataset(short))["RECEIPT_QTY_MISMATCH"]
    assert {f.numbers["difference"] for f in hits} == {-8}
    assert {f.numbers["asn_qty"] for f in hits} == {70} and len(hits) == 2


def test_short_pallet_weighed_short_again_at_putaway_is_not_a_dock_misread() -> None:
    # one ASN, one line per pallet (C: 24 EA a case, 1.2 kg): 2 CS arrive as 1 CS (1.2 kg)
    pallets = [dict(receipt(30.0, 3, 3, "ASN9"), uom="CS", weight_kg=3.6),
               dict(receipt(30.05, 2, 2, "ASN9"), uom="CS", weight_kg=1.2)]
    puts = [dict(transfer(30.5, "C", "R1", qty=3), uom="CS", weight_kg=3.6),
            dict(transfer(30.6, "C", "R1", qty=2), uom="CS", weight_kg=1.2)]
    fired = flags_on_extra(dataset([*pallets, *puts]))
    assert [f.numbers["measured_kg"] for f in fired["DOCK_WEIGHT_MISMATCH"]] == [1.2]
    # the scale misread the second pallet; its putaway weighs right: explained
    misread = flags_on_extra(dataset([*pallets, puts[0], dict(puts[1], weight_kg=2.4)]))
    assert "DOCK_WEIGHT_MISMATCH" not in misread


def test_ambiguous_asn_is_read_the_way_the_site_settles_its_other_asns() -> None:
    # 40 + 30 against 40 and 40: one short pallet (per line) or 30 over (total repeated)
    odd = [receipt(200.0, 40, 40, "ASNX"), receipt(200.5, 30, 40, "ASNX")]
    per_pallet = [r for k in range(4) for r in (receipt(20.0 + k, 40, 40, f"P{k}"),
                                                   receipt(20.2 + k, 20, 20, f"P{k}"))]
    per_total = [r for k in range(4) for r in (receipt(20.0 + k, 25, 40, f"T{k}"),
                                                  receipt(20.2 + k, 15, 40, f"T{k}"))]
    a = flags_on_extra(dataset([*per_pallet, *odd]))["RECEIPT_QTY_MISMATCH"]
    b = flags_on_extra(dataset([*per_total, *odd]))["RECEIPT_QTY_MISMATCH"]
    assert {f.numbers["difference"] for f in a} == {-10}
    assert {f.numbers["difference"] for f in b} == {30}


# -- weight -----------------------------------------------------------------------------------


def weighed_picks(noise: float, n: int = 60) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    return [{"ts": at(0.5 + k * 0.1), "type": "PICK", "sku": "C", "qty": 100, "location": "P3",
             "user_id": "W1", "ref": f"SW{k}",
             "weight_kg": round(5.0 * float(np.exp(rng.normal(0, noise))), 3)}
            for k in range(n)]


def with_lookalike(data: Dataset) -> Dataset:
    """The dataset with a Cola 355ml (0.41 kg) beside the Cola 330ml (0.36 kg)."""
    items = pd.concat([data.items, pd.DataFrame([{
        "sku": "A2", "description": "Acme Cola 355ml", "case_qty": 12, "unit_weight_kg": 0.41,
        "unit_cost": 1.0, "home_location": "P1"}])], ignore_index=True)
    return Dataset(items, data.locations, data.transactions)


def test_weight_fitting_the_scanned_item_within_site_noise_names_no_lookalike() -> None:
    # 10 Cola 330ml scanned, 4.3 kg weighed: 19% over the 330ml, 5% over ten 355ml
    scan = {"ts": at(100.0), "type": "PICK", "sku": "A", "qty": 10, "location": "P1",
            "user_id": "X1", "ref": "SOX", "weight_kg": 4.3}
    # this site's scales read +-6% (sigma): 19% over is within its noise, it fits the 330ml
    noisy = flags_on_extra(with_lookalike(dataset([*weighed_picks(0.06), scan])))
    assert not any(f.numbers.get("best_lookalike") for fs in noisy.values() for f in fs)
    assert "WEIGHT_MISMATCH" not in noisy
    # where the scales are precise it does not fit the 330ml, and the 355ml is named
    sharp = flags_on_extra(with_lookalike(dataset([*weighed_picks(0.002), scan])))
    assert sharp["WEIGHT_MISMATCH"][0].numbers["best_lookalike"] == "A2"


# -- real-export signals ----------------------------------------------------------------------


def adjustment(h: float, sku: str, qty: float, loc: str, user: str = "X5") -> dict[str, Any]:
    return {"ts": at(h), "type": "ADJUSTMENT", "sku": sku, "qty": qty, "location": loc,
            "user_id": user, "reason_code": "OTHER"}


def test_offsetting_adjustments_on_two_codes_the_same_day_are_flagged_and_linked() -> None:
    routine = [adjustment(24 * d + 9 + k / 10, s, q, loc, user="STOCK")
               for d in range(10) for k, (s, q, loc) in enumerate(
                   [("A", -1, "P1"), ("B", 2, "P2"), ("C", -2, "P3"), ("A", 1, "P1")])]
    pair = [adjustment(150.0, "A", 310, "P1"), adjustment(152.0, "C", -310, "P3")]
    data = dataset([*routine, *pair])
    result = Scorer().fit(data).score_batch(data)
    hits = [f for f in result.flags if f.code == "OFFSETTING_ADJUSTMENTS"]
    assert sorted(f.sku for f in hits) == ["A", "C"]
    assert {f.numbers["other_sku"] for f in hits} == {"A", "C"}
    inc = [i for i in result.incidents if "OFFSETTING_ADJUSTMENTS" in i.codes]
    assert len(inc) == 1 and {f.txn_id for f in hits} <= set(inc[0].txn_ids)
    # +1 / -1 the same day is what this site's routine adjustments look like: no pair
    assert not any(f.code == "OFFSETTING_ADJUSTMENTS"
                   for f in Scorer().fit(dataset(routine)).score_batch(dataset(routine)).flags)


def order_feed(orders: int, repeat_every: int) -> list[dict[str, Any]]:
    rows = []
    for k in range(orders):
        lines = [("A", 2), ("B", 1), ("C", 3)]
        if k % repeat_every == 0:
            lines.append(("A", 2))  # the feed sends one line twice
        rows += [{"ts": at(1.0 + k * 0.05), "type": "PICK", "sku": s, "qty": q,
                  "location": {"A": "P1", "B": "P2", "C": "P3"}[s], "user_id": "XORD",
                  "ref": f"INV{k}"} for s, q in lines]
    return rows


def test_repeated_order_lines_from_the_feed_carry_the_pattern_code_as_one_incident() -> None:
    dup_codes = {REPEATED_LINE_IN_REF, "DUPLICATE_PAYLOAD"}
    data = dataset(order_feed(400, 10))
    result = Scorer().fit(data).score_batch(data)
    feed = [f for f in result.flags if f.code in dup_codes]
    assert [f.code for f in feed] == [REPEATED_LINE_IN_REF] * 40
    assert all(f.keys == [f"pattern:{REPEATED_LINE_IN_REF}"] for f in feed)
    assert len([i for i in result.incidents if REPEATED_LINE_IN_REF in i.codes]) == 1
    # a stock posting repeated inside its document on this feed is the feed's pattern too
    posting = {"ts": at(30.0), "type": "ADJUSTMENT", "sku": "B", "qty": 1, "location": "P2",
               "user_id": "XSTOCK", "reason_code": "OTHER", "ref": "ADJ9"}
    with_posting = dataset([*order_feed(400, 10), posting, posting])
    posted = [f for f in Scorer().fit(with_posting).score_batch(with_posting).flags
              if f.code in dup_codes and f.user_id == "XSTOCK"]
    assert [f.code for f in posted] == [REPEATED_LINE_IN_REF]
    # one repeated line in a feed that does not repeat is still one event delivered twice
    once = dataset(order_feed(400, 1000))
    codes = [f.code for f in Scorer().fit(once).score_batch(once).flags if f.code in dup_codes]
    assert codes == ["DUPLICATE_PAYLOAD"]


def test_large_adjustment_against_the_items_movement_is_flagged_opening_stock_is_not() -> None:
    hits = flags_on_extra(dataset([adjustment(100.0, "C", -600, "P3")]))
    assert hits["LARGE_ADJUSTMENT"][0].numbers["eaches"] == -600
    assert "LARGE_ADJUSTMENT" not in flags_on_extra(dataset([adjustment(100.0, "C", -3, "P3")]))
    # the background opens every bin with +400: a stock take, not an exception
    data = dataset()
    assert "LARGE_ADJUSTMENT" not in {f.code for f in Scorer().fit(data).score_batch(data).flags}


def test_balances_that_start_unknown_do_not_make_every_pick_a_negative_balance() -> None:
    rows = [{"ts": at(k * 0.2), "type": "PICK", "sku": "ABC"[k % 3], "qty": 2,
             "location": "P9", "user_id": "ORD", "ref": f"INV{k}"} for k in range(600)]
    tx = dataset(rows).transactions
    tx = tx[tx["user_id"] == "ORD"].reset_index(drop=True)
    data = Dataset(dataset().items, dataset().locations, tx)
    scorer = Scorer().fit(data)
    codes = {f.code for f in scorer.score_batch(data).flags}
    assert not codes & {"NEGATIVE_BALANCE", "PICK_WITHOUT_STOCK", "LATE_INFLOW_HEALS"}
    stock = scorer.detector_report_.set_index("detector").loc["stock"]
    assert stock["action"].startswith("skipped: log does not start from known balances")


def test_blind_count_is_compared_with_the_running_balance() -> None:
    count = {"ts": at(100.0), "type": "CYCLE_COUNT", "sku": "A", "qty": 120, "location": "P1",
             "user_id": "X4"}
    hit = flags_on_extra(dataset([count]))["COUNT_VARIANCE"][0]
    assert hit.numbers["counted"] == 120 and hit.numbers["expected"] > 300
