"""Per-rule firing rates on benign logs of several site conventions: nothing fires on normal."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from scoring import Scorer
from scoring.detectors.sync import REPEATED_LINE_IN_REF
from sim.generator import GeneratorConfig, generate
from sim.generator.profiles import TRAINING_PROFILES
from tests.scorer_cases import at, dataset
from warehouse.dataset import Dataset

KNOBS: dict[str, dict[str, Any]] = {
    "default": {},
    "noisy background": {"noise": 2.5},
    "no scales, no coordinates, no notes": {
        "with_weights": False, "with_coordinates": False, "with_notes": False,
    },
    "busy, many counts and returns": {
        "count_fraction": 0.2, "return_rate": 0.1, "lines_per_sku_day": 6.0,
    },
}


def quiet(report: pd.DataFrame) -> bool:
    """No rule with enough rows to judge fires on more than 1% of them."""
    judged = report[report["eligible"] >= 200]
    return bool((judged["share"] <= 0.01).all())


def fired(data: Dataset) -> tuple[pd.DataFrame, int]:
    """The fitted report's rows that fired, and the incidents of scoring the log."""
    scorer = Scorer().fit(data)
    incidents = scorer.score_batch(data).incidents
    report = scorer.detector_report_
    return report[report["fired"] > 0], len(incidents)


@pytest.mark.parametrize("knobs", KNOBS.values(), ids=KNOBS.keys())
def test_benign_generated_site_fires_on_almost_nothing(knobs: dict[str, Any]) -> None:
    data = generate(GeneratorConfig(seed=11, days=14, skus=150, anomalies=0, **knobs))
    report, incidents = fired(data)
    assert quiet(report), report.to_string()
    assert incidents <= len(data.transactions) / 2000


def receipts(h: float, ref: str, lines: list[tuple[float, float]]) -> list[dict[str, Any]]:
    return [{"ts": at(h + k * 0.05), "type": "RECEIPT", "sku": "C", "qty": q, "expected_qty": e,
             "location": "D1", "user_id": "R1", "ref": ref} for k, (q, e) in enumerate(lines)]


CONVENTIONS: dict[str, list[tuple[float, float]]] = {
    # one line per pallet, each receipt with its own line's quantity
    "ASN line per pallet": [(40, 40), (40, 40), (40, 40), (25, 25)],
    # one line per SKU, its total repeated on every partial receipt
    "ASN total on each part": [(40, 145), (40, 145), (40, 145), (25, 145)],
    # one line per SKU, each later part carrying the balance still open
    "ASN counting down": [(40, 145), (40, 105), (40, 65), (25, 25)],
}


@pytest.mark.parametrize("lines", CONVENTIONS.values(), ids=CONVENTIONS.keys())
def test_receipts_of_every_asn_convention_never_fire(lines: list[tuple[float, float]]) -> None:
    rows = [r for k in range(60) for r in receipts(1.0 + 3.5 * k, f"ASN{k}", lines)]
    report, incidents = fired(dataset(rows))
    assert "RECEIPT_QTY_MISMATCH" not in set(report["code"]), report.to_string()


def test_cage_stock_through_dock_and_staging_never_fires() -> None:
    rows = []
    for k in range(60):
        h = 1.0 + 3.5 * k
        rows += [
            {"ts": at(h), "type": "RECEIPT", "sku": "H", "qty": 4, "expected_qty": 4,
             "location": "D1", "user_id": "R1", "ref": f"ASN{k}"},
            {"ts": at(h + 0.2), "type": "MOVE", "sku": "H", "qty": 4, "location": "D1",
             "to_location": "S1", "user_id": "R1"},
            {"ts": at(h + 0.4), "type": "PUTAWAY", "sku": "H", "qty": 4, "location": "S1",
             "to_location": "CG1", "user_id": "R1"},
            {"ts": at(h + 1.0), "type": "PICK", "sku": "H", "qty": 4, "location": "CG1",
             "user_id": "R2", "ref": f"SO{k}"},
        ]
    report, incidents = fired(dataset(rows))
    assert not set(report["code"]) & {"HIGH_VALUE_OUTSIDE_CAGE", "OVER_WEIGHT_LIMIT",
                                      "AWAY_FROM_HOME", "RECEIPT_QTY_MISMATCH"}


def test_order_feed_that_repeats_lines_fires_only_its_pattern() -> None:
    rows = []
    for k in range(200):
        lines = [("A", 1, "P1"), ("B", 1, "P2")] + ([("A", 1, "P1")] if k % 4 == 0 else [])
        rows += [{"ts": at(1.0 + 1.1 * k), "type": "PICK", "sku": s, "qty": q, "location": loc,
                  "user_id": "ORD", "ref": f"INV{k}"} for s, q, loc in lines]
    report, incidents = fired(dataset(rows))
    assert set(report["code"]) <= {REPEATED_LINE_IN_REF}
    assert incidents == 1


@pytest.mark.parametrize("profile", TRAINING_PROFILES)
def test_benign_log_of_every_training_profile_fires_on_almost_nothing(profile: str) -> None:
    data = generate(GeneratorConfig(seed=11, days=14, skus=150, anomalies=0, profile=profile))
    report, incidents = fired(data)
    assert quiet(report), report.to_string()
    assert incidents <= len(data.transactions) / 2000
