"""OnlineScorer: fitted on the store at start, refit on a fresh snapshot after N events."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from api.intake import to_frame, validate_rows
from api.service import OnlineScorer
from scoring import Scorer
from sim.generator import GeneratorConfig, generate
from tests.api_fixtures import open_store
from warehouse.dataset import Dataset
from warehouse.writer import write_dataset


def rows(frame: pd.DataFrame) -> list[dict]:
    out = []
    for row in frame.drop(columns=["eaches"], errors="ignore").to_dict("records"):
        row["ts"] = pd.Timestamp(row["ts"]).isoformat()
        out.append({k: v for k, v in row.items() if v is not None and v == v})
    return out


@pytest.mark.slow
def test_refit_after_n_events_scores_like_a_scorer_fitted_on_the_store(tmp_path: Path) -> None:
    data = generate(GeneratorConfig(seed=5, days=7, skus=100))
    tx = data.transactions.reset_index(drop=True)
    cut = len(tx) - 40
    write_dataset(Dataset(data.items, data.locations, tx.iloc[:cut], data.labels.iloc[:0], {}),
                  tmp_path / "history")
    store = open_store(tmp_path)
    store.ingest(tmp_path / "history")
    online = OnlineScorer(store, refit_events=20)
    first = online._scorer
    assert online.fitted and first.n_history_ == cut

    events, _ = validate_rows(rows(tx.iloc[cut:]))
    for event in events[:20]:  # stored, then scored: as the intake does
        store.append_transactions(to_frame([event]))
        online.score_event(event)
    online.wait_for_refit()
    assert online._scorer is not first and online._scorer.n_history_ == cut + 20

    reference = Scorer().fit(store.snapshot())
    for event in events[20:]:
        store.append_transactions(to_frame([event]))
        assert online.score_event(event) == reference.score_event(event)


def test_an_empty_store_scores_nothing_until_the_first_refit(tmp_path: Path) -> None:
    online = OnlineScorer(open_store(tmp_path), refit_events=0)
    assert not online.fitted
    event, _ = validate_rows([{"txn_id": "T1", "ts": "2024-05-01T08:00:00+00:00",
                               "type": "PICK", "sku": "A", "qty": 1, "location": "L1",
                               "user_id": "u"}])
    assert online.score_event(event[0]) == []
