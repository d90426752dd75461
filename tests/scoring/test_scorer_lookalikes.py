"""Look-alike groups: the scorer's families agree with the look-alikes the agent reads."""

from __future__ import annotations

import pandas as pd

from scoring import Scorer
from scoring.frame import lookalike_keys
from tests.scorer_cases import at, dataset
from warehouse.dataset import Dataset
from warehouse.lookalikes import lookalike_index


def test_size_words_and_variant_words_are_dropped_from_the_family_key() -> None:
    desc = pd.Series(["Acme Wood Screws small", "Acme Wood Screws large", "Acme Wood Screws 2.5L",
                      "Vista Smartwatch Pro", "Vista Smartwatch 64GB", "Acme Cola 330ml",
                      "Acme Tea 1L", "42"])
    keys = lookalike_keys(desc).tolist()
    assert keys[0] == keys[1] == keys[2] == "acme wood screws"
    assert keys[3] == keys[4] == "vista smartwatch"
    assert keys[5] != keys[6]  # a brand alone makes no family
    assert pd.isna(keys[7])


def test_mirrored_counts_on_items_named_by_size_words_are_a_swap() -> None:
    data = dataset([
        {"ts": at(30), "type": "CYCLE_COUNT", "sku": "A", "qty": 380, "expected_qty": 368,
         "location": "P1", "user_id": "X1"},
        {"ts": at(30.2), "type": "CYCLE_COUNT", "sku": "B", "qty": 356, "expected_qty": 368,
         "location": "P2", "user_id": "X1"},
    ])
    items = data.items.assign(description=data.items["sku"].map(
        {"A": "Acme Wood Screws small", "B": "Acme Wood Screws large"}).fillna(
        data.items["description"]))
    data = Dataset(items, data.locations, data.transactions)
    assert lookalike_index(items)["A"] == ["B"]  # the agent's look-alike
    extra = set(data.transactions.loc[data.transactions["user_id"] == "X1", "txn_id"])
    flags = Scorer().fit(data).score_batch(data).flags
    mirrored = [f for f in flags if f.code == "MIRRORED_VARIANCE" and f.txn_id in extra]
    assert {f.numbers["other_sku"] for f in mirrored} == {"A", "B"}
