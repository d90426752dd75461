"""Online scoring: what lets it run fewer detectors per event, and its agreement with batch."""

from __future__ import annotations

import pytest

from scoring import Scorer
from scoring.detectors import Context
from scoring.scorer import _frame
from sim.generator import GeneratorConfig, generate


@pytest.mark.parametrize("profile", ["reference", "pallet-asn", "nocage-total"])
def test_every_flag_lies_on_a_row_its_rule_considers(profile: str) -> None:
    # score_event skips a detector whose rules do not consider the event's row: only sound
    # if no rule ever fires on a row outside its own ``eligible``
    data = generate(GeneratorConfig(seed=11, days=8, skus=100, anomalies=28, profile=profile))
    scorer = Scorer().fit(data)
    ctx = Context(_frame(data.transactions, scorer.catalog_, None), scorer.catalog_,
                  scorer.baselines_, scorer.params_)
    fired = 0
    for det in scorer.detectors_:
        if det.needs(ctx):
            continue
        flags = det.run(ctx)
        eligible = det.eligible(ctx)
        for code, rows in flags.groupby("code")["row"]:
            assert code in eligible, (det.name, code)
            outside = [r for r in rows if not eligible[code][r]]
            assert not outside, (det.name, code, outside[:5])
            fired += len(rows)
    assert fired > 50  # the check must cover rules that fire
