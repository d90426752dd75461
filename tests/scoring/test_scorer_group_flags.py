"""Scorer.incidents: flags scored one at a time group into the incidents batch scoring gives."""

from __future__ import annotations

import pytest

from scoring import Scorer
from sim.generator import GeneratorConfig, generate


@pytest.fixture(scope="module")
def fitted() -> tuple[Scorer, object]:
    data = generate(GeneratorConfig(seed=3, days=7, skus=150))
    scorer = Scorer().fit(data)
    return scorer, scorer.score_batch(data)


def test_batch_flags_regroup_into_the_batch_incidents(fitted: tuple[Scorer, object]) -> None:
    scorer, result = fitted
    regrouped = scorer.incidents(result.flags)
    assert result.incidents, "the generated log should raise incidents"
    assert sorted(sorted(i.txn_ids) for i in regrouped) == \
        sorted(sorted(i.txn_ids) for i in result.incidents)
    assert sorted(i.risk_score for i in regrouped) == \
        sorted(i.risk_score for i in result.incidents)


def test_flags_carry_link_keys_and_a_subset_groups_on_its_own(
        fitted: tuple[Scorer, object]) -> None:
    scorer, result = fitted
    assert all(f.keys for f in result.flags)
    first = result.incidents[0]
    alone = scorer.incidents(first.flags)
    assert [sorted(i.txn_ids) for i in alone] == [sorted(first.txn_ids)]
    assert scorer.incidents([]) == []
