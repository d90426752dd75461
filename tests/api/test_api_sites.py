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
def users(client: TestClient, store: Store) -> dict[str, dict[str, str]]:
    """Tickets TK1..TK3 at three sites, and users of one site, two sites and every site."""
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
