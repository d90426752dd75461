"""Decisions raced by threads behind a barrier: one winner per ticket, the loser refused with
409 and leaving no approval or history row, and a reference WMS that agrees with the record.

Run on SQLite (``BEGIN IMMEDIATE``) and PostgreSQL (``SELECT ... FOR UPDATE``), against a
real server on a loopback port (uvicorn's thread pool runs the racing requests at once).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session

from actions.audit import AuditLog
from actions.wms_rest import RestWmsAdapter
from api.app import create_app
from api.tickets import save_ticket
from sim.wms.app import create_sim_app
from tests.api_fixtures import adjust, auth, make_ticket, make_users
from tests.loopback_server import serve_on_loopback
from warehouse.canonical import action_digest
from warehouse.settings import get_settings
from warehouse.store import Store

TICKETS = 24
COST = 10.0  # 5 eaches = 50 (supervisor alone); 600 eaches = 6,000 (two controllers)
USERS = (("sup1", "supervisor"), ("sup2", "supervisor"), ("sup3", "supervisor"),
         ("sup4", "supervisor"), ("ctl1", "controller"), ("ctl2", "controller"))


@dataclass
class World:
    """A Tally server and the reference WMS it writes to, both on loopback ports."""

    url: str
    wms_url: str
    store: Store
    headers: dict[str, dict[str, str]]


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    url = (f"sqlite:///{tmp_path}/tally.db" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    store = Store.open(url)
    store.upgrade()
    sim = create_sim_app(f"sqlite:///{tmp_path}/wms.db")
    with serve_on_loopback(sim) as wms_url:
        with httpx.Client(base_url=wms_url) as admin:
            admin.put("/v1/items", json=[{"sku": f"SKU-{i}", "unit_cost": COST}
                                         for i in range(TICKETS)]).raise_for_status()
            admin.put("/v1/inventory", json=[{"sku": f"SKU-{i}", "location": f"P-{i}",
                                              "qty": 1000} for i in range(TICKETS)]
                      ).raise_for_status()
        adapter = RestWmsAdapter(wms_url, attempts=3)
        app = create_app(get_settings(), store=store, wms=adapter)
        with serve_on_loopback(app, lifespan="on") as api_url:
            tokens = make_users(store.engine, *USERS)
            yield World(api_url, wms_url, store, {n: auth(t) for n, t in tokens.items()})
        adapter.close()
    store.close()


def put_tickets(world: World, qty_delta: float) -> list[str]:
    with Session(world.store.engine) as s:
        for i in range(TICKETS):
            save_ticket(s, ticket=make_ticket(i, action=adjust(f"SKU-{i}", f"P-{i}", qty_delta)),
                        unit_cost=COST)
    return [f"TK{i}" for i in range(TICKETS)]


def race(world: World, ticket_id: str, *moves: tuple[str, dict[str, Any]]) -> list[int]:
    """Send each (user, body) at once from its own thread; the status codes, in order."""
    barrier = threading.Barrier(len(moves))
    codes = [0] * len(moves)

    def send(i: int, user: str, body: dict[str, Any]) -> None:
        with httpx.Client(base_url=world.url, timeout=60) as client:
            barrier.wait()
            codes[i] = client.post(f"/v1/tickets/{ticket_id}/decision", json=body,
                                   headers=world.headers[user]).status_code

    threads = [threading.Thread(target=send, args=(i, u, b)) for i, (u, b) in enumerate(moves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def race_all(world: World, tickets: list[str],
             moves: Callable[[str, dict[str, Any]], list[tuple[str, dict[str, Any]]]]
             ) -> dict[str, list[int]]:
    with httpx.Client(base_url=world.url) as client:
        details = {t: client.get(f"/v1/tickets/{t}", headers=world.headers["sup1"]).json()
                   for t in tickets}
    return {t: race(world, t, *moves(t, details[t])) for t in tickets}


def ticket(world: World, ticket_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=world.url) as client:
        return client.get(f"/v1/tickets/{ticket_id}", headers=world.headers["sup1"]).json()


def applied(world: World) -> dict[str, list[dict[str, Any]]]:
    """The WMS's applied actions by ticket id (the idempotency key's prefix)."""
    with httpx.Client(base_url=world.wms_url) as client:
        rows = client.get("/v1/actions").json()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["idempotency_key"].split(":")[0], []).append(json.loads(
            row["action"]))
    return found


def rows(world: World, table: str, ticket_id: str) -> list[dict[str, Any]]:
    with world.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            f"SELECT * FROM {table} WHERE ticket_id = :t"), {"t": ticket_id}).mappings()]


def kinds(world: World, ticket_id: str) -> list[str]:
    return sorted(r["kind"] for r in rows(world, "ticket_event", ticket_id))


def approve_body(detail: dict[str, Any]) -> dict[str, Any]:
    return {"decision": "approve", "action_digest": detail["action_digest"]}


def test_approve_vs_reject_one_winner_and_the_wms_agrees(world: World) -> None:
    tickets = put_tickets(world, -5)
    codes = race_all(world, tickets, lambda t, d: [
        ("sup1", approve_body(d)), ("sup2", {"decision": "reject", "reason": "shelf is fine"})])
    wms = applied(world)
    approved = rejected = 0
    for tid, (approve_code, reject_code) in codes.items():
        assert sorted((approve_code, reject_code)) == [200, 409], (tid, codes[tid])
        t = ticket(world, tid)
        if approve_code == 200:
            approved += 1
            assert t["status"] == "WRITTEN_BACK" and len(wms[tid]) == 1
            assert wms[tid][0] == t["action"]
            assert kinds(world, tid) == ["APPROVED", "CREATED", "WRITE_BACK"]
        else:
            rejected += 1
            assert t["status"] == "REJECTED" and tid not in wms
            assert t["decision_reason"] == "shelf is fine"
            assert kinds(world, tid) == ["CREATED", "REJECTED"]
            assert rows(world, "ticket_approval", tid) == []  # the loser left nothing
    assert approved + rejected == TICKETS
    assert sum(len(v) for v in wms.values()) == approved
    assert AuditLog(world.store.engine).verify().ok
    print(f"approve vs reject: {TICKETS} races, {approved} approvals won, {rejected} rejections "
          f"won, {sum(len(v) for v in wms.values())} WMS writes")


def test_approve_vs_edit_the_wms_gets_what_the_record_says(world: World) -> None:
    tickets = put_tickets(world, -5)
    edited = {t: adjust(f"SKU-{t[2:]}", f"P-{t[2:]}", -3).model_dump(mode="json")
              for t in tickets}
    codes = race_all(world, tickets, lambda t, d: [
        ("sup1", approve_body(d)), ("sup2", {"decision": "edit", "action": edited[t]})])
    wms = applied(world)
    writes = 0
    for tid, (approve_code, edit_code) in codes.items():
        assert sorted((approve_code, edit_code)) == [200, 409], (tid, codes[tid])
        t = ticket(world, tid)
        if approve_code == 200:
            assert t["status"] == "WRITTEN_BACK" and t["edited_by"] is None
            assert wms[tid] == [t["action"]] and t["action"]["params"]["qty_delta"] == -5
            assert kinds(world, tid) == ["APPROVED", "CREATED", "WRITE_BACK"]
            writes += 1
        else:
            assert t["status"] == "PENDING_APPROVAL" and t["action"] == edited[tid]
            assert t["action_digest"] == action_digest(adjust(f"SKU-{tid[2:]}", f"P-{tid[2:]}",
                                                              -3))
            assert tid not in wms and rows(world, "ticket_approval", tid) == []
            assert kinds(world, tid) == ["CREATED", "EDITED"]
    assert sum(len(v) for v in wms.values()) == writes
    print(f"approve vs edit: {TICKETS} races, {writes} approvals won, {TICKETS - writes} edits "
          f"won, {writes} WMS writes")


def test_concurrent_approvers_write_back_once(world: World) -> None:
    tickets = put_tickets(world, -5)
    codes = race_all(world, tickets, lambda t, d: [
        (u, approve_body(d)) for u in ("sup1", "sup2", "sup3", "sup4")])
    wms = applied(world)
    for tid, answers in codes.items():
        assert sorted(answers) == [200, 409, 409, 409], (tid, answers)
        t = ticket(world, tid)
        assert t["status"] == "WRITTEN_BACK" and len(wms[tid]) == 1
        assert t["write_back"]["attempts"] == 1 and len(t["approvals"]) == 1
        assert kinds(world, tid) == ["APPROVED", "CREATED", "WRITE_BACK"]
        assert len(rows(world, "write_back_outbox", tid)) == 1
    print(f"4 concurrent approvers: {TICKETS} tickets, {TICKETS} winners, "
          f"{sum(len(v) for v in wms.values())} WMS writes")


def test_concurrent_dual_approval_never_sticks(world: World) -> None:
    tickets = put_tickets(world, -600)  # 6,000 > the dual-approval value: two controllers
    codes = race_all(world, tickets, lambda t, d: [
        ("ctl1", approve_body(d)), ("ctl2", approve_body(d))])
    wms = applied(world)
    for tid, answers in codes.items():
        assert answers == [200, 200], (tid, answers)
        t = ticket(world, tid)
        assert t["status"] == "WRITTEN_BACK", t
        assert sorted(a["approver"] for a in t["approvals"]) == ["ctl1", "ctl2"]
        assert len(wms[tid]) == 1 and t["write_back"]["attempts"] == 1
    print(f"dual approval: {TICKETS} tickets, {TICKETS} written back with two approvals, "
          f"{sum(len(v) for v in wms.values())} WMS writes")
