"""GET /v1/kpis: volume by cause and severity, aging, time to decision, precision by cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from api.db import SERVICE_TABLES
from api.kpis import compute_kpis
from api.tickets import get_ticket, save_ticket, update_ticket
from tests.api_fixtures import auth, make_ticket, open_store, role_users
from warehouse.settings import get_settings

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def test_kpis_from_hand_built_queue(tmp_path: object) -> None:
    store = open_store(tmp_path)
    # (cause, severity, created hours ago, decided hours after creation, final status, edited)
    rows = [
        ("SHRINKAGE", "STOP", 2, None, "PENDING_APPROVAL", None),
        ("SHRINKAGE", "REVIEW", 30, 1, "WRITTEN_BACK", None),
        ("SHRINKAGE", "REVIEW", 50, 3, "REJECTED", None),
        ("MIS_SCAN", "REVIEW", 100, 2, "WRITTEN_BACK", "sup2"),
        ("MIS_SCAN", "INFO", 0.5, None, "PENDING_APPROVAL", None),
        ("LEGITIMATE", "INFO", 5, None, "NO_ACTION", None),
    ]
    SERVICE_TABLES[0].metadata.create_all(store.engine, tables=SERVICE_TABLES)
    with Session(store.engine) as s:
        for i, (cause, sev, ago, took, status, edited) in enumerate(rows):
            created = NOW - timedelta(hours=ago)
            save_ticket(s, ticket=make_ticket(i, root_cause=cause, severity=sev,
                                              status="PENDING_APPROVAL",
                                              value_at_risk=10.0 * (i + 1),
                                              first_ts=f"2024-0{1 + i % 2}-0{1 + i}T08:00:00Z"),
                        created_at=created.isoformat())
            changes: dict[str, object] = {"status": status, "edited_by": edited}
            if took is not None:
                changes["decided_at"] = (created + timedelta(hours=took)).isoformat()
            update_ticket(s, record=get_ticket(s, ticket_id=f"TK{i}"), **changes)
        kpis = compute_kpis(s, now=NOW)
    assert kpis.tickets == 6
    assert kpis.by_root_cause == {"LEGITIMATE": 1, "MIS_SCAN": 2, "SHRINKAGE": 3}
    assert kpis.by_severity == {"INFO": 2, "REVIEW": 3, "STOP": 1}
    assert kpis.by_cause_and_severity["SHRINKAGE"] == {"STOP": 1, "REVIEW": 2}
    assert kpis.by_status == {"NO_ACTION": 1, "PENDING_APPROVAL": 2, "REJECTED": 1,
                              "WRITTEN_BACK": 2}
    assert kpis.open == 2
    assert kpis.aging == {"<1h": 1, "1-4h": 1, "4-24h": 0, "1-3d": 0, ">3d": 0}
    assert kpis.oldest_open_s == 2 * 3600
    assert kpis.time_to_decision.count == 3
    assert kpis.time_to_decision.median_s == 2 * 3600
    assert kpis.time_to_decision.mean_s == 2 * 3600
    assert kpis.time_to_decision.p90_s == 3 * 3600
    shrink = kpis.precision_by_cause["SHRINKAGE"]
    assert (shrink.approved, shrink.rejected, shrink.precision) == (1, 1, 0.5)
    mis = kpis.precision_by_cause["MIS_SCAN"]
    assert (mis.approved, mis.edited, mis.precision, mis.strict_precision) == (1, 1, 1.0, 0.0)
    assert "LEGITIMATE" not in kpis.precision_by_cause
    # money: open = pending (10 + 50), corrected = written back (20 + 40), by event week
    assert (kpis.money.open, kpis.money.corrected) == (60.0, 60.0)
    assert kpis.money_by_cause["SHRINKAGE"].model_dump() == {"open": 10.0, "corrected": 20.0}
    assert kpis.money_by_cause["MIS_SCAN"].model_dump() == {"open": 50.0, "corrected": 40.0}
    assert "LEGITIMATE" not in kpis.money_by_cause  # no action: no money in question
    assert {w: m.model_dump() for w, m in kpis.money_by_week.items()} == {
        "2024-W01": {"open": 60.0, "corrected": 0.0},  # Jan 1 and Jan 5: both pending
        "2024-W05": {"open": 0.0, "corrected": 60.0}}  # Feb 2 and Feb 4: both written back


def test_kpis_endpoint_empty_and_after_a_ticket(tmp_path: object) -> None:
    store = open_store(tmp_path)
    with TestClient(create_app(get_settings(), store=store)) as client:
        viewer = auth(role_users(store.engine)["viewer"])
        empty = client.get("/v1/kpis", headers=viewer)
        assert empty.status_code == 200, empty.text
        assert empty.json()["tickets"] == 0 and empty.json()["time_to_decision"]["median_s"] is None
        with Session(store.engine) as s:
            save_ticket(s, ticket=make_ticket(1, severity="STOP"))
        body = client.get("/v1/kpis", headers=viewer).json()
        assert body["by_severity"] == {"STOP": 1} and body["open"] == 1
        assert client.get("/v1/kpis").status_code == 401
