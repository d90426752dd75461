"""The service folds as ``tally run`` does: repeated order lines streamed through it (SQLite,
in process) become one systemic ticket with its children, round after round, and the store
triaged at once (``tally triage``) holds the tickets ``tally run`` writes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from langgraph.checkpoint.memory import MemorySaver
from sqlmodel import Session

from actions.wms_recording import RecordingWms
from agents.batch import score_and_triage
from api.service import OnlineScorer, ServiceTriage, create_service_app
from api.tickets import contract_ticket, site_tickets
from tests.agents.test_systemic_tickets import repeated_order_lines
from tests.api.test_service_e2e import events
from tests.api_fixtures import auth, make_users, open_store
from tests.scorer_cases import at, dataset
from warehouse.contract import Ticket, TicketKind
from warehouse.dataset import Dataset
from warehouse.settings import get_settings
from warehouse.store import Store
from warehouse.writer import write_dataset

ORDERS = 40
"""Orders over eight days, five a day, each with one line posted twice."""
STORED_DAYS = 6
"""Days the service's store holds at start (the background's too); it is sent the rest."""


@pytest.fixture(scope="module")
def log() -> Dataset:
    return dataset(repeated_order_lines(ORDERS), days=STORED_DAYS)


def stored(store: Store) -> list[Ticket]:
    with Session(store.engine) as session:
        return [contract_ticket(r) for r in site_tickets(session, site=store.site)]


def shape(tickets: list[Ticket]) -> tuple[list[tuple[int, frozenset[str]]], set[frozenset[str]],
                                          set[frozenset[str]]]:
    """Systemic parents (child count, transactions), their children's and the loose tickets'
    transaction sets: what a run and the service must agree on, whatever the ids."""
    parents = [t for t in tickets if t.kind is TicketKind.SYSTEMIC]
    children = {frozenset(t.txn_ids) for t in tickets if t.parent_ticket_id}
    loose = {frozenset(t.txn_ids) for t in tickets
             if t.parent_ticket_id is None and t.kind is TicketKind.INCIDENT}
    return (sorted((p.child_count, frozenset(p.txn_ids)) for p in parents), children, loose)


def repeats(frame: pd.DataFrame) -> set[str]:
    """The second line of each repeated pair."""
    return set(frame.loc[frame.duplicated(["ts", "sku", "ref", "qty"], keep="first"), "txn_id"])


def test_the_store_triaged_at_once_holds_the_tickets_tally_run_writes(
        log: Dataset, tmp_path: Path) -> None:
    settings = get_settings()
    batch = score_and_triage(log, settings, progress=False)
    store = open_store(tmp_path)
    write_dataset(log, tmp_path / "log")
    store.ingest(tmp_path / "log")
    snapshot = store.snapshot()
    scorer = OnlineScorer(store, snapshot=snapshot)
    triage = ServiceTriage(settings, store=store, scorer=scorer,
                           wms=RecordingWms(tmp_path / "write_back.jsonl"))
    triage.graph_factory(MemorySaver(), snapshot)
    triage.open_flags(scorer.batch_flags(snapshot))
    service = stored(store)
    assert shape(service) == shape(batch.tickets)
    [(n, _)] = shape(service)[0]
    assert n == ORDERS
    # triaged again, nothing new opens and the parent still counts each occurrence once
    triage.open_flags(scorer.batch_flags(snapshot))
    assert shape(stored(store)) == shape(service)


@pytest.fixture
def served(log: Dataset, tmp_path: Path) -> Iterator[tuple[Store, TestClient, dict, object]]:
    """A service whose store holds the first days; the test posts the rest."""
    tx = log.transactions
    history = Dataset(log.items, log.locations, tx[tx["ts"] < at(24 * STORED_DAYS)],
                      log.labels, {})
    store = open_store(tmp_path)
    write_dataset(history, tmp_path / "history")
    store.ingest(tmp_path / "history")
    users = {n: auth(t) for n, t in make_users(store.engine, ("feed", "supervisor")).items()}
    app = create_service_app(get_settings(), store=store,
                             wms=RecordingWms(tmp_path / "write_back.jsonl"),
                             worker_poll_s=3600, settle_s=0)
    with TestClient(app) as client:
        yield store, client, users["feed"], app


def test_repeated_order_lines_streamed_through_the_service_make_one_systemic_ticket(
        log: Dataset, served: tuple[Store, TestClient, dict, object]) -> None:
    store, client, feed, app = served
    tx = log.transactions
    later = tx[tx["ts"] >= at(24 * STORED_DAYS)]
    # one day a round: the second finds the parent the first opened
    rounds = [later[later["ts"] < at(24 * (STORED_DAYS + 1))],
              later[later["ts"] >= at(24 * (STORED_DAYS + 1))]]
    posted: set[str] = set()
    parent_ids = []
    for part in rounds:
        answer = client.post("/v1/transactions", headers=feed, json=events(part))
        assert answer.status_code == 201, answer.text
        app.state.worker.drain()  # type: ignore[attr-defined]
        assert app.state.queue.counts().get("FAILED", 0) == 0  # type: ignore[attr-defined]
        posted |= repeats(part)
        tickets = stored(store)
        parents = [t for t in tickets if t.kind is TicketKind.SYSTEMIC]
        assert len(parents) == 1
        parent = parents[0]
        parent_ids.append(parent.ticket_id)
        children = [t for t in tickets if t.parent_ticket_id == parent.ticket_id]
        # every repeated line posted so far is one occurrence of the one parent
        assert parent.child_count == len(children) == len(posted)
        assert {t for c in children for t in c.txn_ids} >= posted
        assert posted <= set(parent.txn_ids)
        assert not [t for t in tickets if t.parent_ticket_id is None and t is not parent
                    and set(t.txn_ids) & posted]
        assert parent.root_cause.value == "SYSTEM_SYNC"
        assert parent.action.type.value == "INVESTIGATE"
        assert str(len(posted)) in parent.summary
        # each occurrence counted once in the parent's evidence, whichever round it came in
        [by_sku] = [e.fact for e in parent.evidence if e.fact.startswith("most repeated SKUs")]
        assert sum(int(n) for n in re.findall(r"(\d+) times", by_sku)) == len(posted)
    assert parent_ids[0] == parent_ids[1]  # the second round found the first round's parent
    assert len(posted) == len(repeats(later)) == ORDERS * 2 // 8
    # the queue shows the parent with its count, not the occurrences
    queue = client.get("/v1/tickets", headers=feed, params={"top_level": True}).json()
    items = queue["items"] if isinstance(queue, dict) else queue
    [top] = [t for t in items if t["kind"] == "systemic"]
    assert top["child_count"] == len(posted)
    assert all(t["parent_ticket_id"] is None for t in items)
    # the same occurrences as tally run on the whole log, over the part the service scored
    batch = score_and_triage(log, get_settings(), progress=False)
    [run_parent] = [t for t in batch.tickets if t.kind is TicketKind.SYSTEMIC]
    run_children = {t.txn_ids[0] for t in batch.tickets
                    if t.parent_ticket_id == run_parent.ticket_id}
    assert run_children & set(later["txn_id"]) == posted


def test_occurrences_the_worker_sees_join_the_ticket_tally_triage_opened(
        log: Dataset, served: tuple[Store, TestClient, dict, object]) -> None:
    store, client, feed, app = served
    tx = log.transactions
    # `tally triage` over what is stored: it keeps no FLAGS work items of its own
    app.state.triage.open_flags(  # type: ignore[attr-defined]
        app.state.scorer.batch_flags(store.snapshot()))  # type: ignore[attr-defined]
    before = repeats(tx[tx["ts"] < at(24 * STORED_DAYS)])
    [parent] = [t for t in stored(store) if t.kind is TicketKind.SYSTEMIC]
    assert parent.child_count == len(before)
    later = tx[tx["ts"] >= at(24 * STORED_DAYS)]
    assert client.post("/v1/transactions", headers=feed,
                       json=events(later)).status_code == 201
    app.state.worker.drain()  # type: ignore[attr-defined]
    tickets = stored(store)
    [grown] = [t for t in tickets if t.kind is TicketKind.SYSTEMIC]
    children = [t for t in tickets if t.parent_ticket_id == grown.ticket_id]
    assert grown.ticket_id == parent.ticket_id
    assert grown.child_count == len(children) == len(before | repeats(later)) == ORDERS
    assert len({c.ticket_id for c in children}) == ORDERS
