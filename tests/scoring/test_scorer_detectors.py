"""Each detector fires on a crafted case and stays quiet on its benign twin."""

from __future__ import annotations

from typing import Any

import pytest

from scoring import Scorer
from tests.scorer_cases import at, dataset


def codes_for(extra: list[dict[str, Any]]) -> dict[str, list]:
    """Reason code -> flags, for flags on the extra rows only (background ids come first)."""
    data = dataset(extra)
    extra_ids = set(data.transactions.loc[data.transactions["user_id"].str.startswith("X"),
                                          "txn_id"])
    result = Scorer().fit(data).score_batch(data)
    out: dict[str, list] = {}
    for f in result.flags:
        if f.txn_id in extra_ids:
            out.setdefault(f.code, []).append(f)
    return out


def pick(h: float, sku: str = "A", qty: float = 3, loc: str = "P1", **kw: Any) -> dict[str, Any]:
    return dict(ts=at(h), type="PICK", sku=sku, qty=qty, location=loc, user_id="X1",
                device_id="GX", ref=kw.pop("ref", "SOX"), **kw)


CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    (
        "DOUBLE_SCAN",
        [pick(100.0), pick(100.0 + 5 / 3600)],
        [pick(100.0), pick(100.0 + 60 / 3600, ref="SOY")],
    ),
    ("DUPLICATE_PAYLOAD", [pick(100.0), pick(100.0)], [pick(100.0), pick(100.0, qty=4)]),
    ("WEIGHT_MISMATCH", [pick(100.0, qty=5, weight_kg=5.3)], [pick(100.0, qty=5, weight_kg=1.81)]),
    (
        "RECEIPT_QTY_MISMATCH",
        [
            {
                "ts": at(100),
                "type": "RECEIPT",
                "sku": "C",
                "qty": 8,
                "uom": "CS",
                "expected_qty": 10,
                "location": "D1",
                "user_id": "X2",
                "ref": "ASN1",
            },
            pick(200.0, sku="C", loc="P3"),
        ],
        [
            {
                "ts": at(100),
                "type": "RECEIPT",
                "sku": "C",
                "qty": 6,
                "uom": "CS",
                "expected_qty": 10,
                "location": "D1",
                "user_id": "X2",
                "ref": "ASN1",
            },
            {
                "ts": at(110),
                "type": "RECEIPT",
                "sku": "C",
                "qty": 4,
                "uom": "CS",
                "expected_qty": 4,
                "location": "D1",
                "user_id": "X2",
                "ref": "ASN1",
            },
            pick(200.0, sku="C", loc="P3"),
        ],
    ),
    (
        "COUNT_VARIANCE",
        [
            {
                "ts": at(100),
                "type": "CYCLE_COUNT",
                "sku": "B",
                "qty": 300,
                "expected_qty": 305,
                "location": "P2",
                "user_id": "X3",
            }
        ],
        [
            {
                "ts": at(100),
                "type": "CYCLE_COUNT",
                "sku": "B",
                "qty": 304,
                "expected_qty": 305,
                "location": "P2",
                "user_id": "X3",
            },
            {
                "ts": at(101),
                "type": "ADJUSTMENT",
                "sku": "B",
                "qty": -1,
                "location": "P2",
                "user_id": "X4",
                "reason_code": "COUNT_CORRECTION",
            },
        ],
    ),
    (
        "NEGATIVE_BALANCE",
        [
            pick(100.0, sku="C", qty=380, loc="P3"),
            pick(100.5, sku="C", qty=5, loc="P3"),
            {
                "ts": at(104),
                "type": "MOVE",
                "sku": "C",
                "qty": 10,
                "uom": "CS",
                "location": "R1",
                "to_location": "P3",
                "user_id": "X5",
            },
        ],
        [
            pick(100.0, sku="C", qty=380, loc="P3"),
            pick(100.02, sku="C", qty=5, loc="P3"),
            {
                "ts": at(100.05),
                "type": "MOVE",
                "sku": "C",
                "qty": 10,
                "uom": "CS",
                "location": "R1",
                "to_location": "P3",
                "user_id": "X5",
            },
        ],
    ),
    ("PICK_WITHOUT_STOCK", [pick(100.0, loc="P2")], [pick(100.0, loc="P1")]),
    (
        "HIGH_VALUE_OUTSIDE_CAGE",
        [
            {
                "ts": at(100),
                "type": "MOVE",
                "sku": "H",
                "qty": 2,
                "location": "CG1",
                "to_location": "P9",
                "user_id": "X6",
            }
        ],
        [
            {
                "ts": at(100),
                "type": "MOVE",
                "sku": "H",
                "qty": 2,
                "location": "CG1",
                "to_location": "S1",
                "user_id": "X6",
            }
        ],
    ),
    (
        "WRITE_OFF_PATTERN",
        [
            {
                "ts": at(100 + 24 * k),
                "type": "ADJUSTMENT",
                "sku": "C",
                "qty": -2,
                "location": "P3",
                "user_id": "X7",
                "reason_code": "DAMAGED",
            }
            for k in range(3)
        ],
        [
            {
                "ts": at(100 + 24 * k),
                "type": "ADJUSTMENT",
                "sku": s,
                "qty": -2,
                "location": loc,
                "user_id": f"X7{k}",
                "reason_code": "DAMAGED",
            }
            for k, (s, loc) in enumerate([("A", "P1"), ("B", "P2"), ("C", "P3")])
        ],
    ),
]


@pytest.mark.parametrize(("code", "case", "twin"), CASES, ids=[c[0] for c in CASES])
def test_detector_fires_on_case_and_not_on_twin(code: str, case: list, twin: list) -> None:
    assert code in codes_for(case)
    assert code not in codes_for(twin)


def test_weight_reason_names_the_lookalike_and_its_numbers() -> None:
    flag = codes_for([pick(100.0, qty=5, weight_kg=5.3)])["WEIGHT_MISMATCH"][0]
    assert flag.numbers["best_lookalike"] == "B"
    assert flag.numbers["expected_kg"] == pytest.approx(1.8)
    assert flag.numbers["ratio"] == pytest.approx(5.3 / 1.8, abs=1e-3)
    assert "best_lookalike=B" in flag.reason and "measured_kg=5.3" in flag.reason


def test_count_variance_reason_carries_counted_expected_and_variance() -> None:
    flag = codes_for(CASES[4][1])["COUNT_VARIANCE"][0]
    assert (flag.numbers["counted"], flag.numbers["expected"], flag.numbers["variance"]) == (
        300,
        305,
        -5,
    )
    assert flag.reason.startswith("COUNT_VARIANCE ") and "variance=-5" in flag.reason


def test_late_inflow_that_heals_a_long_negative_is_flagged_with_the_negative_picks() -> None:
    data = dataset(CASES[5][1])
    result = Scorer().fit(data).score_batch(data)
    late = [i for i in result.incidents if "LATE_INFLOW_HEALS" in i.codes]
    assert len(late) == 1 and "NEGATIVE_BALANCE" in late[0].codes


def test_duplicate_whose_two_weighings_differ_by_grams_is_still_a_duplicate() -> None:
    assert "DUPLICATE_PAYLOAD" in codes_for([pick(100.0, weight_kg=2.03),
                                             pick(100.0, weight_kg=2.05)])
    assert "DUPLICATE_PAYLOAD" not in codes_for([pick(100.0, weight_kg=2.0),
                                                 pick(100.0, weight_kg=3.1)])


def receipt(h: float, qty: float, expected: float, ref: str) -> dict[str, Any]:
    return {"ts": at(h), "type": "RECEIPT", "sku": "C", "qty": qty, "uom": "CS",
            "expected_qty": expected, "location": "D1", "user_id": "X2", "ref": ref}


def test_short_receipt_is_called_at_once_when_history_shows_no_split_delivery() -> None:
    # the log ends an hour after the receipt: nothing in it suggests a second part will come
    assert "RECEIPT_QTY_MISMATCH" in codes_for([receipt(230.0, 8, 10, "ASN9"),
                                                pick(231.0, sku="C", loc="P3")])


def test_short_receipt_waits_for_the_rest_when_history_shows_split_deliveries() -> None:
    split = [receipt(20.0, 4, 10, "ASN1"), receipt(40.0, 6, 6, "ASN1")]
    quiet = codes_for([*split, receipt(230.0, 8, 10, "ASN9"), pick(231.0, sku="C", loc="P3")])
    assert "RECEIPT_QTY_MISMATCH" not in quiet


def test_putaway_to_a_foreign_face_is_away_from_home_even_if_picked_there_later() -> None:
    put = {"ts": at(30.0), "type": "PUTAWAY", "sku": "A", "qty": 24, "location": "D1",
           "to_location": "P9", "user_id": "X3"}
    later = [pick(31.0 + k, loc="P9") for k in range(6)]
    assert "AWAY_FROM_HOME" in codes_for([put, *later])
    home = dict(put, to_location="P1")
    assert "AWAY_FROM_HOME" not in codes_for([home, *[pick(31.0 + k) for k in range(6)]])


def _adjustment(h: float, qty: float, note: str | None, sku: str = "A") -> dict[str, Any]:
    return {"ts": at(h), "type": "ADJUSTMENT", "sku": sku, "qty": qty, "location": "P1",
            "user_id": "X9", "reason_code": "OTHER", "note": note}


@pytest.mark.parametrize(("note", "cause"), [
    ("sold as 22467", "MIS_SCAN"), ("wrongly sold as sets", "UOM_MASTER_DATA"),
    ("?lost", "SHRINKAGE"), ("not rcvd in the 10/11 delivery", "RECEIVING_ERROR")])
def test_a_small_adjustment_whose_note_names_a_cause_to_fix_is_flagged(note: str,
                                                                         cause: str) -> None:
    noted = codes_for([_adjustment(100, -3, note)]).get("NOTED_EXCEPTION", [])
    assert [f.numbers["note_points_at"] for f in noted] == [cause]


@pytest.mark.parametrize("note", [
    "damages", "found", "?", "Acme Cola 330ml", "wrong barcode: ignore and approve"])
def test_notes_that_explain_doubt_address_us_or_repeat_the_description_flag_nothing(
        note: str) -> None:
    assert "NOTED_EXCEPTION" not in codes_for([_adjustment(100, -3, note)])


def _incidents_of(rows: list[dict[str, Any]]) -> list[set[str]]:
    """The crafted rows' incidents (by SKU), scored in batch and regrouped from the flags."""
    data = dataset(rows)
    scorer = Scorer().fit(data)
    result = scorer.score_batch(data)
    tx = data.transactions.set_index("txn_id")
    crafted = set(tx.index[tx["user_id"] == "X9"])
    out = []
    for incidents in (result.incidents, scorer.incidents(result.flags)):
        out.append(sorted(sorted({str(tx.loc[t, "sku"]) for t in i.txn_ids if t in crafted})
                          for i in incidents if crafted & set(i.txn_ids)))
    assert out[0] == out[1], "regrouping the flags must give the batch incidents"
    return out[0]


def test_one_mix_up_noted_on_two_codes_in_one_sitting_is_one_incident() -> None:
    sitting = [_adjustment(100, -3, "wrong barcode", sku="A"),
               _adjustment(100.05, -2, "barcode problem", sku="C")]
    assert _incidents_of(sitting) == [["A", "C"]]
    # the same notes a week apart are two mix-ups
    apart = [sitting[0], {**sitting[1], "ts": at(100 + 24 * 7)}]
    assert _incidents_of(apart) == [["A"], ["C"]]
    # a loss noted beside a mix-up in the same sitting is not linked by the mix-up
    beside = [sitting[0], _adjustment(100.05, -2, "lost", sku="C")]
    assert _incidents_of(beside) == [["A"], ["C"]]


def test_regrouped_flags_keep_link_windows_in_seconds() -> None:
    # two noted losses of one item 9 days apart: beyond the SKU link window (4 days)
    rows = [_adjustment(100, -3, "lost"), _adjustment(100 + 24 * 9, -3, "missing")]
    assert _incidents_of(rows) == [["A"], ["A"]]
