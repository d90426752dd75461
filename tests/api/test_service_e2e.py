"""The wired service end to end: events posted -> scored -> triaged -> approved -> written back.

A real Store on SQLite, the online scorer fitted on the stored history, the triage worker
over the real agent graph and offline reasoner, and the reference WMS on a loopback port
behind the REST adapter. The server is restarted and the ticket is still there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tenacity import wait_none

from actions.wms_rest import RestWmsAdapter
from api.service import create_service_app
from sim.generator import GeneratorConfig, generate
from sim.wms.app import create_sim_app
from tests.api_fixtures import auth, make_users, open_store
from tests.loopback_server import serve_on_loopback
from warehouse.dataset import Dataset
from warehouse.settings import get_settings
from warehouse.store import Store
from warehouse.writer import write_dataset

SIM_KEY = "sim-key"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(GeneratorConfig(seed=3, days=7, skus=150))


WINDOW = 40


def split(data: Dataset) -> tuple[Dataset, pd.DataFrame, pd.DataFrame]:
    """Stored history; ordinary events to post as one batch; the events of labelled problems.

    The anomalous part is the run of :data:`WINDOW` events holding the most labelled problems
    (other than legitimate ones) from start to end, so the test posts little and still
    meets several kinds of problem; the scorer and the reasoner decide what becomes a ticket.
    """
    tx = data.transactions.reset_index(drop=True)
    position = {t: i for i, t in enumerate(tx["txn_id"])}
    problems = data.labels[data.labels["root_cause"] != "LEGITIMATE"]
    cases = [[position[t] for t in ids.split()] for ids in problems["txn_ids"]]
    first = max((min(c) for c in cases), key=lambda s: sum(
        min(c) >= s and max(c) < s + WINDOW for c in cases))
    start = first - 5
    history = Dataset(data.items, data.locations, tx.iloc[:start], data.labels.iloc[:0], {})
    return history, tx.iloc[start:first], tx.iloc[first:first + WINDOW]


def events(frame: pd.DataFrame) -> list[dict]:
    """Contract JSON rows (ISO times, no missing values)."""
    out = []
    for row in frame.drop(columns=["eaches"], errors="ignore").to_dict("records"):
        row["ts"] = pd.Timestamp(row["ts"]).isoformat()
        out.append({k: v for k, v in row.items() if v is not None and v == v})
    return out


@pytest.fixture
def wms_url(dataset: Dataset) -> Iterator[str]:
    with serve_on_loopback(create_sim_app(api_key=SIM_KEY)) as url:
        items = dataset.items[["sku", "case_qty", "unit_weight_kg", "unit_cost"]]
        httpx.put(f"{url}/v1/items", headers=auth(SIM_KEY), json=items.astype(object).where(
            items.notna(), None).to_dict("records")).raise_for_status()
        yield url


def applied(url: str) -> list[dict]:
    return httpx.get(f"{url}/v1/actions", headers=auth(SIM_KEY)).json()


@contextmanager
def server(store: Store, wms_url: str) -> Iterator[tuple[FastAPI, TestClient]]:
    """One server process; its worker is drained by the test, not by its polling thread."""
    adapter = RestWmsAdapter(wms_url, api_key=SIM_KEY, attempts=3, timeout_s=5, wait=wait_none())
    app = create_service_app(get_settings(), store=store, wms=adapter, worker_poll_s=3600,
                             settle_s=0)
    with TestClient(app) as client:
        yield app, client
    adapter.close()


@pytest.mark.slow
def test_posted_events_become_a_ticket_that_is_approved_written_back_once_and_kept(
        dataset: Dataset, wms_url: str, tmp_path: Path) -> None:
    history, ordinary, anomalous = split(dataset)
    store = open_store(tmp_path)
    write_dataset(history, tmp_path / "history")
    store.ingest(tmp_path / "history")
    users = {n: auth(t) for n, t in make_users(
        store.engine, ("feed", "supervisor"), ("sup1", "supervisor"), ("ctl1", "controller"),
        ("adm1", "admin")).items()}

    with server(store, wms_url) as (app, client):
        assert app.state.scorer.fitted
        answer = client.post("/v1/transactions", headers=users["feed"], json=events(ordinary))
        assert answer.status_code == 201, answer.text
        for row in events(anomalous):
            assert client.post("/v1/transactions", headers=users["feed"],
                               json=row).status_code == 201
        assert app.state.worker.drain() >= 1 + len(anomalous)
        assert app.state.queue.counts().get("FAILED", 0) == 0

        listed = client.get("/v1/tickets", headers=users["sup1"]).json()
        tickets = listed["items"] if isinstance(listed, dict) else listed
        assert tickets, "the anomalous events should have opened a ticket"
        case_txns = set(anomalous["txn_id"])
        details = [client.get(f"/v1/tickets/{t['ticket_id']}", headers=users["sup1"]).json()
                   for t in tickets]
        ours = [t for t in details if case_txns & set(t["txn_ids"])
                and t["status"] == "PENDING_APPROVAL"]
        assert ours, [(t["txn_ids"], t["status"]) for t in details]
        ticket = ours[0]
        assert ticket["evidence"] and ticket["explanation"]
        assert ticket["action"]["type"] != "NO_ACTION"
        assert set(ticket["txn_ids"]) <= set(history.transactions["txn_id"]) | set(
            ordinary["txn_id"]) | case_txns

        tid = ticket["ticket_id"]
        decided = client.post(f"/v1/tickets/{tid}/decision", headers=users["ctl1"], json={
            "decision": "approve", "action_digest": ticket["action_digest"]})
        assert decided.status_code == 200, decided.text
        if decided.json()["ticket"]["status"] != "WRITTEN_BACK":  # a second approver needed
            decided = client.post(f"/v1/tickets/{tid}/decision", headers=users["adm1"], json={
                "decision": "approve", "action_digest": ticket["action_digest"]})
        assert decided.json()["ticket"]["status"] == "WRITTEN_BACK", decided.text
        key = decided.json()["ticket"]["write_back"]["idempotency_key"]
        assert [a["idempotency_key"] for a in applied(wms_url)] == [key]
        again = client.post(f"/v1/tickets/{tid}/decision", headers=users["ctl1"], json={
            "decision": "approve", "action_digest": ticket["action_digest"]})
        assert again.status_code in (200, 409), again.text
        count = len(tickets)

    with server(store, wms_url) as (app, client):  # restarted: nothing in memory survives
        kept = client.get(f"/v1/tickets/{tid}", headers=users["adm1"]).json()
        assert kept["status"] == "WRITTEN_BACK" and kept["evidence"] == ticket["evidence"]
        assert app.state.worker.drain() == 0  # nothing pending, nothing triaged twice
        listed = client.get("/v1/tickets", headers=users["adm1"]).json()
        assert len(listed["items"] if isinstance(listed, dict) else listed) == count
    assert [a["idempotency_key"] for a in applied(wms_url)] == [key]
