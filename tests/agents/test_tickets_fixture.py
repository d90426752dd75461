"""Offline triage of a small simulated site gives the tickets stored in a fixture.

The fixture (``tests/fixtures/tickets/seed3_14d_120sku.jsonl``) was written by the triage
code before its per-ticket speed work; a speed change must leave every ticket as it was.
A change meant to alter tickets (policy, features, offline model, scorer) rewrites it, and
the diff of the fixture shows which tickets changed:
``PYTHONPATH=$PWD python -m tests.agents.test_tickets_fixture``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.pipeline import triage
from agents.reasoners.offline import OfflineReasoner
from scoring import Scorer
from sim.generator import GeneratorConfig, generate
from tools.view import WarehouseView

FIXTURE = Path(__file__).parents[1] / "fixtures" / "tickets" / "seed3_14d_120sku.jsonl"


def site_tickets() -> list[str]:
    """Each ticket of the small site as one line of JSON, in incident order."""
    data = generate(GeneratorConfig(seed=3, days=14, skus=120), progress=False)
    incidents = Scorer().fit(data).score_batch(data).incidents
    tickets = triage(incidents, WarehouseView(data), OfflineReasoner())
    return [json.dumps(t.model_dump(mode="json"), sort_keys=True) for t in tickets]


@pytest.mark.slow
def test_tickets_equal_the_stored_ones() -> None:
    stored = FIXTURE.read_text().splitlines()
    got = site_tickets()
    assert len(got) == len(stored)
    for line, want in zip(got, stored, strict=True):
        assert json.loads(line) == json.loads(want)


if __name__ == "__main__":
    FIXTURE.write_text("".join(line + "\n" for line in site_tickets()))
