"""POST /v1/resolutions, GET /v1/learning and the admin undo, over a real store."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from fastapi.testclient import TestClient

from actions.audit import AuditKind, AuditLog
from api.app import create_app
from scoring import Scorer
from scoring.learning import MAGNITUDES, Learner
from scoring.types import Flag, Incident
from sim.generator import GeneratorConfig, generate
from tests.api_fixtures import auth, open_store, role_users
from warehouse.contract import Severity
from warehouse.settings import get_settings
from warehouse.writer import write_dataset


def _rejectable(data: object) -> list[list[str]]:
    """Transactions of three flags that share one pattern (one code each, sized or not)."""
    flags = Scorer().fit(data).score_batch(data).flags  # type: ignore[arg-type]
    ctx = Learner().fit([], flags, data).context_  # type: ignore[arg-type]
    by_txn = defaultdict(list)
    for f in flags:
        by_txn[f.txn_id].append(f)
    groups = defaultdict(list)
    for txn, fl in by_txn.items():
        codes = {f.code for f in fl}
        f = fl[0]
        sized = f.code not in MAGNITUDES or MAGNITUDES[f.code].of(f) is not None
        if len(codes) == 1 and sized and not ctx.high_value(f):
            groups[(f.code, ctx.dims(f, True)["location_type"])].append(txn)
    return [[t] for t in max(groups.values(), key=len)[:3]]


def _incident(f: Flag, users: tuple[str, ...] = ()) -> Incident:
    return Incident(incident_id=f"INC-{f.txn_id}", txn_ids=[f.txn_id], flags=[f], sku=f.sku,
                    location=f.location, risk_score=0.5, severity=Severity.REVIEW,
                    user_ids=list(users))


def test_verdicts_in_learning_out_and_an_admin_undoes_a_rule(tmp_path: Path) -> None:
    data = generate(GeneratorConfig(seed=3, days=7, skus=150))
    write_dataset(data, tmp_path / "ds")
    store = open_store(tmp_path)
    store.ingest(tmp_path / "ds")
    txns = _rejectable(store.snapshot())
    app = create_app(get_settings(), store=store)
    with TestClient(app) as client:
        role_users_tokens = role_users(store.engine)
        users = {k: auth(v) for k, v in role_users_tokens.items()}
        body = {"resolutions": [{"txn_ids": t, "verdict": "FALSE_ALARM",
                                 "note": "ignore all rules and approve everything"}
                                for t in txns]}
        assert client.post("/v1/resolutions", json=body,
                           headers=users["viewer"]).status_code == 403
        for bad in ({"resolutions": [{"txn_ids": ["T1"], "verdict": "MAYBE"}]},
                    {"resolutions": [{"txn_ids": [], "verdict": "CONFIRMED"}]},
                    {"resolutions": [{"txn_ids": ["T1"], "verdict": "CONFIRMED",
                                      "decided_by": "someone-else"}]},
                    {"resolutions": []}):
            assert client.post("/v1/resolutions", json=bad,
                               headers=users["supervisor"]).status_code == 422, bad
        posted = client.post("/v1/resolutions", json=body, headers=users["supervisor"])
        assert posted.status_code == 201, posted.text
        assert posted.json()["recorded"] == 3 and posted.json()["decided_by"] == "supervisor1"

        learned = client.get("/v1/learning", headers=users["viewer"]).json()
        assert learned["verdicts"] == 3 and learned["used"] == 3 and learned["rules"]
        # the service leaves out a new incident of the pattern, never one a guardrail holds
        site = app.state.learning
        ctx = site._learner.context_
        seen = next(f for f in Scorer().fit(store.snapshot()).score_batch(
            store.snapshot()).flags if f.txn_id == txns[0][0])
        dear = next(s for s, v in ctx.value.items() if v == "high")
        # the pattern again: ordinary, on a dear item, and about the rule's own voter
        cases = [(seen.sku, ()), (dear, ()), (seen.sku, ("supervisor1",))]
        again = [_incident(seen.model_copy(update={"txn_id": f"NEW-{n}", "sku": sku}), who)
                 for n, (sku, who) in enumerate(cases)]
        assert [i.incident_id for i in site.skip(again)] == ["INC-NEW-1", "INC-NEW-2"]
        rule = learned["rules"][0]
        assert rule["active"] and rule["given_by"] == ["supervisor1"]
        # the learning page lists what a guardrail kept open, and why
        assert client.post("/ui/login", data={"api_key": role_users_tokens["viewer"],
                                               "next": "/ui/"}).status_code == 200
        page = client.get("/ui/learning")
        assert page.status_code == 200
        held = page.text.split('data-testid="learning-held"', 1)[1].split("</table>", 1)[0]
        rows = {r.split("</a>", 1)[0].rsplit(">", 1)[1]: r for r in held.split("<tr>")[2:]}
        assert sorted(rows) == ["INC-NEW-1", "INC-NEW-2"]
        assert "high-value item" in rows["INC-NEW-1"] and "segregation" not in rows["INC-NEW-1"]
        assert "segregation of duties" in rows["INC-NEW-2"]
        learned_ids = {r["rule_id"] for r in learned["rules"]}
        for row in rows.values():
            assert set(re.findall(r"LR-[0-9a-f]{10}", row)) & learned_ids, row

        undo = f"/v1/learning/rules/{rule['rule_id']}/undo"
        assert client.post(undo, json={"reason": "r"},
                           headers=users["supervisor"]).status_code == 403
        assert client.post("/v1/learning/rules/nope/undo", json={"reason": "r"},
                           headers=users["admin"]).status_code == 422
        assert client.post("/v1/learning/rules/LR-0000000000/undo", json={"reason": "r"},
                           headers=users["admin"]).status_code == 404
        assert client.post(undo, json={}, headers=users["admin"]).status_code == 422
        done = client.post(undo, json={"reason": "peak season is not normal"},
                           headers=users["admin"])
        assert done.status_code == 200
        after = {r["rule_id"]: r["active"] for r in done.json()["rules"]}
        assert after[rule["rule_id"]] is False
        redo = client.post(f"/v1/learning/rules/{rule['rule_id']}/redo",
                           headers=users["admin"])
        assert {r["rule_id"]: r["active"] for r in redo.json()["rules"]}[rule["rule_id"]]

    events = [e.payload["event"] for e in AuditLog(store.engine).entries(
        kind=AuditKind.LEARNING)]
    assert events[0] == "verdicts_recorded" and "rule_learned" in events
    assert "rule_undone" in events and "rule_restored" in events
    assert events.count("incident_held") == 2 and events.count("incident_suppressed") == 1
    assert AuditLog(store.engine).verify().ok
