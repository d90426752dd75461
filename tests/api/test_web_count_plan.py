"""The count-plan page: supervisors see the ranked plan and approve it once from the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from actions.wms_rest import RestWmsAdapter
from api.app import create_app
from sim.generator import GeneratorConfig, generate
from sim.wms.app import create_sim_app
from tests.api_fixtures import make_users, open_store
from warehouse.settings import get_settings
from warehouse.store import Store
from warehouse.writer import write_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cpui")
    write_dataset(generate(GeneratorConfig(seed=42, days=10, skus=100)), folder)
    return folder


@pytest.fixture
def store(tmp_path: Path, dataset: Path) -> Store:
    s = open_store(tmp_path)
    s.ingest(dataset)
    return s


@pytest.fixture
def wms() -> TestClient:
    return TestClient(create_sim_app())


@pytest.fixture
def client(store: Store, wms: TestClient) -> Iterator[TestClient]:
    adapter = RestWmsAdapter(client=wms, attempts=1)
    with TestClient(create_app(get_settings(), store=store, wms=adapter),
                    follow_redirects=False) as c:
        yield c


def _login(client: TestClient, store: Store, name: str, role: str) -> None:
    token = make_users(store.engine, (name, role))[name]
    assert client.post("/ui/login", data={"api_key": token, "next": "/ui/"}).status_code == 303


def test_supervisor_sees_the_plan_and_approves_it_once(client: TestClient, store: Store,
                                                      wms: TestClient) -> None:
    assert client.get("/ui/count-plan").status_code == 303  # login first
    _login(client, store, "sam", "supervisor")
    page = client.get("/ui/count-plan", params={"top": 4})
    assert page.status_code == 200
    assert 'href="/ui/count-plan" aria-current="page"' in page.text
    locations = re.findall(r'<tr data-location="([^"]+)"', page.text)
    assert len(locations) == 4
    digest = re.search(r'name="plan_digest" value="([0-9a-f]{64})"', page.text).group(1)
    form = {"top": "4", "plan_digest": digest, "comment": "morning counts"}
    done = client.post("/ui/count-plan/approve", data=form)
    assert done.status_code == 200 and "4 of 4 blind recount" in done.text
    orders = wms.get("/v1/work-orders", params={"kind": "RECOUNT"}).json()
    assert [o["location"] for o in orders] == locations
    again = client.post("/ui/count-plan/approve", data=form)
    assert again.status_code == 200
    assert len(wms.get("/v1/work-orders", params={"kind": "RECOUNT"}).json()) == 4
    stale = client.post("/ui/count-plan/approve", data={**form, "plan_digest": "1" * 64})
    assert stale.status_code == 409 and "changed since it was reviewed" in stale.text
    bad = client.post("/ui/count-plan/approve", data={**form, "top": "0"})
    assert bad.status_code == 422
    cross = client.post("/ui/count-plan/approve", data=form,
                        headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403


def test_viewer_is_told_it_needs_a_supervisor(client: TestClient, store: Store,
                                              wms: TestClient) -> None:
    _login(client, store, "vera", "viewer")
    page = client.get("/ui/count-plan")
    assert page.status_code == 403 and "needs supervisor" in page.text
    assert "plan_digest" not in page.text
    refused = client.post("/ui/count-plan/approve", data={"top": "3", "plan_digest": "0" * 64})
    assert refused.status_code == 403
    assert wms.get("/v1/work-orders", params={"kind": "RECOUNT"}).json() == []
