"""Sites in the API and UI: a supervisor of one site neither sees nor decides another's
tickets (404, 403, never 5xx); roles per site; ?site= on the queue and the KPIs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from actions.wms_rest import RestWmsAdapter
from api.app import create_app
from api.auth import add_user, grant_site
from api.count_plans import CountPlanRecord
from api.tickets import get_ticket, save_ticket
from sim.wms.app import create_sim_app
from tests.api_fixtures import auth, make_ticket
from warehouse.settings import get_settings
from warehouse.store import Store

SITE_OF = {"TK1": "default", "TK2": "north", "TK3": "south"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (f"sqlite:///{tmp_path / 'tally.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    opened = Store.open(url)
    opened.upgrade()
    yield opened
    opened.close()


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    wms = TestClient(create_sim_app())
    wms.put("/v1/items", json=[{"sku": f"SKU-{i}", "case_qty": 1, "unit_cost": 4.0}
                               for i in (1, 2, 3)]).raise_for_status()
    with TestClient(create_app(get_settings(), store=store,
                               wms=RestWmsAdapter(client=wms, attempts=1)),
                    follow_redirects=False) as c:
        yield c


@pytest.fixture
def users(client: TestClient, store: Store, tmp_path: Path) -> dict[str, dict[str, str]]:
    """Tickets TK1..TK3 at three sites, and users of one site, two sites and every site.

    North's log holds TK2's SKU-2 at P-2; the default site's does not.
    """
    folder = tmp_path / "north"
    folder.mkdir()
    (folder / "items.csv").write_text("sku,description,case_qty\nSKU-2,Gadget,1\n")
    (folder / "locations.csv").write_text("location_id,zone,type\nP-2,A,PICK\n")
    (folder / "transactions.csv").write_text(
        "txn_id,ts,type,sku,qty,location,user_id\n"
        "T2a,2024-05-01T08:00:00Z,RECEIPT,SKU-2,10,P-2,u1\n"
        "T2b,2024-05-01T09:00:00Z,ADJUSTMENT,SKU-2,-6,P-2,u7\n")
    store.for_site("north").ingest(folder)
    with Session(store.engine) as s:
        for i, site in enumerate(SITE_OF.values(), start=1):
            save_ticket(s, ticket=make_ticket(i), site=site, unit_cost=4.0)
        tokens = {
            "north_sup": add_user(s, name="nora", role="supervisor", sites=["north"]).token,
            "mixed": add_user(s, name="max", role="supervisor", sites=["north"]).token,
            "anyone": add_user(s, name="ana", role="viewer").token,
            "boss": add_user(s, name="bo", role="supervisor").token,
        }
        grant_site(s, name="max", site="south", role="viewer")
    assert get_ticket(Session(store.engine), ticket_id="TK2").site == "north"  # type: ignore[union-attr]
    return {name: auth(token) for name, token in tokens.items()}


def listed(client: TestClient, headers: dict[str, str], **params: str) -> list[str]:
    answer = client.get("/v1/tickets", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return sorted(t["ticket_id"] for t in answer.json()["items"])


def approve(client: TestClient, ticket_id: str, headers: dict[str, str],
            digest: str) -> object:
    return client.post(f"/v1/tickets/{ticket_id}/decision", headers=headers,
                       json={"decision": "approve", "action_digest": digest})


def test_the_queue_lists_only_the_sites_a_user_holds_a_role_at(
        client: TestClient, users: dict[str, dict[str, str]]) -> None:
    assert listed(client, users["north_sup"]) == ["TK2"]
    assert listed(client, users["mixed"]) == ["TK2", "TK3"]
    assert listed(client, users["anyone"]) == ["TK1", "TK2", "TK3"]  # no site roles: all
    assert listed(client, users["anyone"], site="south") == ["TK3"]
    assert listed(client, users["mixed"], site="north") == ["TK2"]
    other = client.get("/v1/tickets", params={"site": "south"}, headers=users["north_sup"])
    assert other.status_code == 403 and "south" in other.json()["detail"]
    assert client.get("/v1/tickets", params={"site": "south"}).status_code == 401
    bad = client.get("/v1/tickets", params={"site": "x" * 65}, headers=users["anyone"])
    assert bad.status_code == 422


def test_another_sites_ticket_is_not_found_in_the_api_and_the_ui(
        client: TestClient, users: dict[str, dict[str, str]]) -> None:
    north = users["north_sup"]
    assert client.get("/v1/tickets/TK2", headers=north).status_code == 200
    for path in ("/v1/tickets/TK1", "/v1/tickets/TK3", "/v1/tickets/TK3/chat"):
        answer = client.get(path, headers=north)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["detail"] == f"no ticket {path.split('/')[3]!r}"
    assert client.get("/v1/tickets/TK1", headers=users["anyone"]).status_code == 200
    token = north["Authorization"].split()[1]
    assert client.post("/ui/login", data={"api_key": token, "next": "/ui/"}).status_code == 303
    assert client.get("/ui/tickets/TK2").status_code == 200
    assert client.get("/ui/tickets/TK3").status_code == 404
    assert client.get("/ui/tickets/TK3/plot.svg").status_code == 404
    plot = client.get("/ui/tickets/TK2/plot.svg")  # drawn from north's ledger, not default's
    assert plot.status_code == 200 and "SKU-2" in plot.text
    assert "no transactions for SKU-2" not in plot.text
    queue = client.get("/ui/").text
    assert "TK2" in queue and "TK3" not in queue and "TK1" not in queue
    assert client.get("/ui/search", params={"q": "TK3"}).status_code == 404


def test_a_supervisor_of_one_site_cannot_approve_another_sites_ticket(
        client: TestClient, store: Store, users: dict[str, dict[str, str]]) -> None:
    digest = client.get("/v1/tickets/TK3", headers=users["boss"]).json()["action_digest"]
    refused = approve(client, "TK3", users["north_sup"], digest)
    assert refused.status_code == 404  # type: ignore[attr-defined]
    # a viewer at south (supervisor at north) sees TK3 but may not decide it
    weak = approve(client, "TK3", users["mixed"], digest)
    assert weak.status_code == 403, weak.text  # type: ignore[attr-defined]
    assert "viewer" in weak.json()["detail"]  # type: ignore[attr-defined]
    with Session(store.engine) as s:
        assert get_ticket(s, ticket_id="TK3").status == "PENDING_APPROVAL"  # type: ignore[union-attr]
    own = client.get("/v1/tickets/TK2", headers=users["mixed"]).json()["action_digest"]
    done = approve(client, "TK2", users["mixed"], own)
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    assert done.json()["ticket"]["status"] != "PENDING_APPROVAL"  # type: ignore[attr-defined]
    assert approve(client, "TK3", users["boss"], digest).status_code == 200  # type: ignore[attr-defined]


def test_kpis_count_the_visible_sites_or_the_one_asked_for(
        client: TestClient, users: dict[str, dict[str, str]]) -> None:
    def tickets(headers: dict[str, str], **params: str) -> int:
        answer = client.get("/v1/kpis", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["tickets"])

    assert tickets(users["anyone"]) == 3
    assert tickets(users["anyone"], site="north") == 1
    assert tickets(users["north_sup"]) == 1
    assert tickets(users["mixed"]) == 2
    assert client.get("/v1/kpis", params={"site": "default"},
                      headers=users["north_sup"]).status_code == 403



def _site_folder(path: Path, txn_id: str) -> Path:
    path.mkdir()
    (path / "items.csv").write_text("sku,description,case_qty\nS1,Widget,1\n")
    (path / "locations.csv").write_text("location_id,zone,type\nL1,A,PICK\n")
    (path / "transactions.csv").write_text("txn_id,ts,type,sku,qty,location,user_id\n"
                                           f"{txn_id},2024-05-01T08:00:00Z,RECEIPT,S1,5,L1,u1\n")
    return path


def test_the_event_api_of_a_site_stores_and_checks_re_deliveries_there(
        store: Store, tmp_path: Path) -> None:
    north = store.for_site("north")
    store.ingest(_site_folder(tmp_path / "d", "T1"))  # the default site holds T1 (qty 5)
    north.ingest(_site_folder(tmp_path / "n", "T9"))
    event = {"txn_id": "T1", "ts": "2024-05-01T09:00:00+00:00", "type": "RECEIPT",
             "sku": "S1", "qty": 7, "location": "L1", "user_id": "u2"}
    with Session(store.engine) as s:
        nora = auth(add_user(s, name="nora", role="supervisor", sites=["north"]).token)
        sam = auth(add_user(s, name="sam", role="supervisor", sites=["south"]).token)
    with TestClient(create_app(get_settings(), store=north)) as client:
        refused = client.post("/v1/transactions", json=event, headers=sam)
        assert refused.status_code == 403 and "north" in refused.json()["detail"]
        # another site's T1 is no re-delivery here
        assert client.post("/v1/transactions", json=event, headers=nora).status_code == 201
        again = client.post("/v1/transactions", json={**event, "qty": 8}, headers=nora)
        assert again.status_code == 409  # but now north's own T1 is
    assert north.snapshot().transactions["txn_id"].tolist() == ["T9", "T1"]
    assert store.snapshot().transactions["qty"].tolist() == [5.0]


def test_a_count_plan_is_its_sites(store: Store, tmp_path: Path) -> None:
    north = store.for_site("north")
    north.ingest(_site_folder(tmp_path / "n", "T9"))
    with Session(store.engine) as s:
        sam = auth(add_user(s, name="sam", role="supervisor", sites=["south"]).token)
        nora = auth(add_user(s, name="nora", role="supervisor", sites=["north"]).token)
        s.add(CountPlanRecord(site="north", plan_id="CP-1", digest="d" * 64, top=1,
                              approved_by="nora", approved_at="2024-05-02T00:00:00+00:00",
                              lines="[]"))
        s.commit()
    with TestClient(create_app(get_settings(), store=north)) as client:
        refused = client.get("/v1/count-plan", params={"top": 5}, headers=sam)
        assert refused.status_code == 403 and "north" in refused.json()["detail"]
        assert client.get("/v1/count-plan/CP-1/outcomes", headers=sam).status_code == 404
        assert client.get("/v1/count-plan/CP-1/outcomes", headers=nora).status_code == 200
