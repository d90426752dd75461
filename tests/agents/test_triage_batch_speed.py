"""Batch triage's per-dataset work, done once, leaves every ticket as triaging it alone would.

The batch shares one view, one feature context, one look-alike index and the tools' memos
across incidents, and drops each thread's checkpoints; a ticket must not depend on which
incidents were triaged before it, nor on the shortcuts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from agents.features import FeatureContext, case_features
from agents.pipeline import triage
from agents.reasoners.offline import OfflineReasoner
from scoring import Scorer
from scoring.types import Incident
from sim.generator import GeneratorConfig, generate
from tools.user_activity import user_activity
from tools.view import WarehouseView, first_positions, records, row_dicts
from warehouse.dataset import Dataset
from warehouse.lookalikes import description_similarity, lookalike_index


@pytest.fixture(scope="module")
def scored() -> tuple[Dataset, list[Incident]]:
    data = generate(GeneratorConfig(seed=3, days=14, skus=120), progress=False)
    return data, Scorer().fit(data).score_batch(data).incidents


@pytest.mark.slow
def test_batch_tickets_equal_tickets_triaged_one_at_a_time(
        scored: tuple[Dataset, list[Incident]]) -> None:
    data, incidents = scored
    assert len(incidents) >= 6
    batch = triage(incidents, WarehouseView(data), OfflineReasoner())
    # the last incidents, each alone on a fresh view: no memo or index carried over
    for incident, ticket in list(zip(incidents, batch, strict=True))[-4:]:
        [alone] = triage([incident], WarehouseView(data), OfflineReasoner())
        assert alone.model_dump(mode="json") == ticket.model_dump(mode="json")


@pytest.mark.slow
def test_features_from_the_view_equal_features_built_alone(
        scored: tuple[Dataset, list[Incident]]) -> None:
    data, incidents = scored
    shared, alone = FeatureContext.of(WarehouseView(data)), FeatureContext(data)
    for incident in incidents:
        assert case_features(incident, shared) == case_features(incident, alone)


def test_lookalike_index_ranks_every_pair_by_word_overlap() -> None:
    rng = np.random.default_rng(7)
    words = ["red", "blue", "mug", "cup", "set", "of", "4", "large", "glass", "tin", "x"]
    items = pd.DataFrame({
        "sku": [f"S{rng.integers(0, 150)}" for _ in range(200)],  # repeats: the last wins
        "description": [" ".join(rng.choice(words, rng.integers(0, 6))) for _ in range(200)],
    })
    items.loc[3, "description"] = None
    desc = dict(zip(items["sku"], items["description"], strict=True))
    index = lookalike_index(items, limit=5)
    assert list(index) == list(dict.fromkeys(items["sku"]))
    for sku, got in index.items():
        scored = sorted(((description_similarity(desc[sku], desc[o]), o)
                         for o in desc if o != sku), reverse=True)
        assert got == [o for s, o in scored[:5] if s >= 0.4], sku
    assert any(len(v) == 5 for v in index.values())


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and (
        a is b or a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)))


def test_records_and_row_dicts_are_pandas_rows(scored: tuple[Dataset, list[Incident]]) -> None:
    ledger = WarehouseView(scored[0]).ledger
    rows = ledger.iloc[::37].assign(**{"odd name": 1.5, "n": 2})
    for fast, slow in zip(records(rows), rows.itertuples(), strict=True):
        assert fast._fields == slow._fields
        assert all(_same(a, b) for a, b in zip(fast, slow, strict=True))
    for fast_row, slow_row in zip(row_dicts(rows), rows.to_dict("records"), strict=True):
        assert list(fast_row) == list(slow_row)
        assert all(_same(fast_row[k], slow_row[k]) for k in slow_row)
    assert list(records(ledger.iloc[:0])) == [] == row_dicts(ledger.iloc[:0])


def test_user_activity_is_computed_once_per_user(
        scored: tuple[Dataset, list[Incident]]) -> None:
    data = scored[0]
    view = WarehouseView(data)
    user = str(data.transactions["user_id"].dropna().iloc[0])
    first = user_activity(view, user)
    assert first is not None
    assert user_activity(view, user) is first
    assert user_activity(WarehouseView(data), user) == first
    assert user_activity(view, "nobody") is None


def test_first_positions_keep_each_ids_first_row_in_order() -> None:
    ids = np.array(["T2", "T1", "T2", "T3", "T1"], dtype=object)
    assert list(first_positions(ids).items()) == [("T2", 0), ("T1", 1), ("T3", 3)]
    assert first_positions(ids[:0]) == {}
