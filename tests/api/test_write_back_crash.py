"""A ``tally serve`` killed with SIGKILL while five approved write-backs are in flight: the
restarted service completes each by itself, each lands once in the reference WMS, and the
tickets say WRITTEN_BACK only once the WMS has confirmed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session

from api.tickets import save_ticket
from sim.wms.app import create_sim_app
from sim.wms.faults import FaultInjector, FaultPlan
from tests.api_fixtures import adjust, auth, make_ticket, make_users, open_store
from tests.loopback_server import serve_on_loopback

TICKETS = 5
REPO = Path(__file__).resolve().parents[2]
TALLY = Path(sys.executable).with_name("tally")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve(data_dir: Path, wms_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """``tally serve`` in its own process group on a free port; its URL once it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env.update(PYTHONPATH=str(REPO), TALLY_DATA_DIR=str(data_dir), TALLY_ENV="test",
               TALLY_WMS_URL=wms_url, TALLY_WMS_ATTEMPTS="20", TALLY_WMS_TIMEOUT_S="60",
               TALLY_TRIAGE_SETTLE_S="0")
    log = (data_dir / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen([str(TALLY), "serve", "--port", str(port)], env=env, cwd=data_dir,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, (data_dir / f"serve-{port}.log").read_text()[-3000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("tally serve did not start")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[object, str]]:
    # every write fails: refused before applying (error) or applied with the answer held
    # back (stall), so the first server dies with approvals both applied and not
    plan = FaultPlan(fail_rate=1.0, modes=["error", "stall"], stall_s=60, seed=3)
    app = create_sim_app(f"sqlite:///{tmp_path}/wms.db", faults=plan)
    with serve_on_loopback(app) as url:
        with httpx.Client(base_url=url) as admin:
            admin.put("/v1/items", json=[{"sku": f"SKU-{i}", "unit_cost": 1.0}
                                         for i in range(TICKETS)]).raise_for_status()
            admin.put("/v1/inventory", json=[{"sku": f"SKU-{i}", "location": f"P-{i}",
                                              "qty": 100} for i in range(TICKETS)]
                      ).raise_for_status()
        yield app, url


def outbox_rows(store: object) -> int:
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text("SELECT COUNT(*) FROM write_back_outbox")).scalar_one())


def statuses(url: str, headers: dict[str, str]) -> list[str]:
    return [httpx.get(f"{url}/v1/tickets/TK{i}", headers=headers).json()["status"]
            for i in range(TICKETS)]


@pytest.mark.slow
def test_approved_write_backs_resume_after_kill_9(tmp_path: Path, sim: tuple[object, str]
                                                  ) -> None:
    sim_app, wms_url = sim
    store = open_store(tmp_path)
    users = {n: auth(t) for n, t in make_users(
        store.engine, ("sup1", "supervisor"), ("sup2", "supervisor")).items()}
    with Session(store.engine) as s:
        for i in range(TICKETS):
            save_ticket(s, ticket=make_ticket(i, action=adjust(f"SKU-{i}", f"P-{i}", -5)),
                        unit_cost=1.0)

    proc, url = start_serve(tmp_path, wms_url)
    digests = [httpx.get(f"{url}/v1/tickets/TK{i}", headers=users["sup1"]).json()[
        "action_digest"] for i in range(TICKETS)]

    def approve(i: int) -> None:
        try:
            httpx.post(f"{url}/v1/tickets/TK{i}/decision", headers=users["sup1"], timeout=120,
                       json={"decision": "approve", "action_digest": digests[i]})
        except httpx.TransportError:
            pass  # the server is killed under this request

    threads = [threading.Thread(target=approve, args=(i,), daemon=True) for i in range(TICKETS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while outbox_rows(store) < TICKETS or sum(sim_app.state.faults.injected.values()) < 8:
        assert time.monotonic() < deadline, "the approvals did not reach the WMS"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)

    with httpx.Client(base_url=wms_url) as wms:
        applied_at_kill = len(wms.get("/v1/actions").json())
    with store.engine.connect() as conn:
        at_kill = [r[0] for r in conn.execute(text("SELECT status FROM ticket ORDER BY ticket_id"))]
    assert at_kill == ["APPROVED"] * TICKETS  # none says WRITTEN_BACK before the WMS confirmed

    sim_app.state.faults = FaultInjector(FaultPlan())  # the WMS is healthy again
    proc, url = start_serve(tmp_path, wms_url)
    try:
        deadline = time.monotonic() + 90
        while statuses(url, users["sup2"]) != ["WRITTEN_BACK"] * TICKETS:
            assert time.monotonic() < deadline, statuses(url, users["sup2"])
            time.sleep(0.3)
        tickets = [httpx.get(f"{url}/v1/tickets/TK{i}", headers=users["sup2"]).json()
                   for i in range(TICKETS)]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)

    with httpx.Client(base_url=wms_url) as wms:
        actions = wms.get("/v1/actions").json()
        balances = [wms.get("/v1/inventory", params={"sku": f"SKU-{i}"}).json()[0]["qty"]
                    for i in range(TICKETS)]
    assert sorted(a["idempotency_key"] for a in actions) == sorted(
        t["write_back"]["idempotency_key"] for t in tickets)
    assert len(actions) == TICKETS and balances == [95.0] * TICKETS  # each applied once
    outcomes = sorted(t["write_back"]["status"] for t in tickets)
    assert outcomes.count("ALREADY_APPLIED") == applied_at_kill
    print(f"kill -9 with {TICKETS} approvals in flight ({applied_at_kill} applied, unconfirmed):"
          f" {TICKETS} written back after restart, {len(actions)} WMS writes, {outcomes}")
