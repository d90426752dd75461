"""Approvals land in the reference WMS exactly once while it fails half its calls."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from tenacity import wait_none

from actions.audit import AuditKind, AuditLog
from actions.wms_rest import RestWmsAdapter
from api.app import create_app
from api.tickets import save_ticket
from sim.wms.app import create_sim_app
from sim.wms.faults import FaultPlan
from tests.api_fixtures import adjust, auth, make_ticket, make_users, open_store
from tests.loopback_server import serve_on_loopback
from warehouse.settings import get_settings

TICKETS = 12


@pytest.fixture
def sim() -> Iterator[tuple[object, str]]:
    plan = FaultPlan(fail_rate=0.5, modes=["error", "lost", "stall"], stall_s=0.5, seed=7)
    app = create_sim_app(faults=plan)
    with serve_on_loopback(app) as url:
        with httpx.Client(base_url=url) as admin:
            admin.put("/v1/items", json=[{"sku": f"SKU-{i}", "unit_cost": 1.0}
                                         for i in range(TICKETS)]).raise_for_status()
            admin.put("/v1/inventory", json=[{"sku": f"SKU-{i}", "location": f"P-{i}",
                                              "qty": 100} for i in range(TICKETS)]
                      ).raise_for_status()
        yield app, url


def test_each_approval_lands_once_through_faults_and_retries(sim: tuple[object, str],
                                                             tmp_path: object) -> None:
    app, url = sim
    store = open_store(tmp_path)
    adapter = RestWmsAdapter(url, timeout_s=0.2, attempts=2, wait=wait_none())
    with TestClient(create_app(get_settings(), store=store, wms=adapter)) as client:
        headers = auth(make_users(store.engine, ("sup1", "supervisor"))["sup1"])
        with Session(store.engine) as s:
            for i in range(TICKETS):
                save_ticket(s, ticket=make_ticket(i, action=adjust(f"SKU-{i}", f"P-{i}", -3)),
                            unit_cost=1.0)
        statuses = []
        for i in range(TICKETS):
            tid = f"TK{i}"
            seen = client.get(f"/v1/tickets/{tid}", headers=headers).json()["action_digest"]
            answer = client.post(f"/v1/tickets/{tid}/decision", headers=headers,
                                 json={"decision": "approve", "action_digest": seen})
            assert answer.status_code == 200, answer.text
            statuses.append(answer.json()["ticket"]["status"])
        assert "WRITE_BACK_FAILED" in statuses  # two tries at 50% failures: some give up
        retries = 0
        while retries < 50:
            failed = client.get("/v1/tickets", params={"status": "WRITE_BACK_FAILED"},
                                headers=headers).json()["items"]
            if not failed:
                break
            for t in failed:
                retries += 1
                again = client.post(f"/v1/tickets/{t['ticket_id']}/write-back", headers=headers)
                assert again.status_code == 200, again.text
        written = client.get("/v1/tickets", params={"status": "WRITTEN_BACK"},
                             headers=headers).json()
        assert written["total"] == TICKETS
    with httpx.Client(base_url=url) as admin:
        applied = admin.get("/v1/actions").json()
        balances = {(b["sku"], b["location"]): b["qty"] for b in admin.get("/v1/inventory").json()}
    assert len(applied) == TICKETS
    assert len({a["idempotency_key"] for a in applied}) == TICKETS
    assert balances == {(f"SKU-{i}", f"P-{i}"): 97 for i in range(TICKETS)}  # never doubled
    injected = app.state.faults.injected  # type: ignore[attr-defined]
    assert injected["lost"] > 0 and injected["error"] > 0 and injected["stall"] > 0
    audit = AuditLog(store.engine)
    writes = audit.entries(kind=AuditKind.WRITE_BACK)
    assert len(writes) == TICKETS + retries
    assert {e.payload["status"] for e in writes} >= {"FAILED"}
    assert audit.verify().ok
