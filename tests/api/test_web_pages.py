"""The web UI's routes without a browser: login cookie, queue, ticket page, plot, decisions."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from actions.wms_rest import RestWmsAdapter
from api.app import create_app
from api.tickets import save_ticket
from api.web.session import COOKIE
from sim.generator import GeneratorConfig, generate
from sim.wms.app import create_sim_app
from tests.api_fixtures import adjust, make_ticket, make_users
from tests.api_store import TableStore
from tools.view import WarehouseView
from warehouse.settings import get_settings

USERS = (("viewer1", "viewer"), ("sup1", "supervisor"), ("sup2", "supervisor"),
         ("ctl1", "controller"))


@pytest.fixture(scope="module")
def dataset() -> object:
    return generate(GeneratorConfig(seed=5, days=7, skus=150), progress=False)


@pytest.fixture
def wms() -> TestClient:
    sim = TestClient(create_sim_app())
    sim.put("/v1/items", json=[{"sku": f"SKU-{i}", "case_qty": 1, "unit_cost": 2.0}
                               for i in range(6)]).raise_for_status()
    sim.put("/v1/inventory", json=[{"sku": f"SKU-{i}", "location": f"P-{i}", "qty": 50}
                                   for i in range(6)]).raise_for_status()
    return sim


@pytest.fixture
def store(tmp_path: object) -> TableStore:
    return TableStore(f"sqlite:///{tmp_path}/api.db")


@pytest.fixture
def app_client(store: TableStore, wms: TestClient) -> Iterator[TestClient]:
    adapter = RestWmsAdapter(client=wms, attempts=1)
    with TestClient(create_app(get_settings(), store=store, wms=adapter),
                    follow_redirects=False) as c:
        yield c


@pytest.fixture
def tokens(app_client: TestClient, store: TableStore) -> dict[str, str]:
    tokens = make_users(store.engine, *USERS)
    with Session(store.engine) as s:
        save_ticket(s, ticket=make_ticket(1, severity="INFO", root_cause="LEGITIMATE"),
                    unit_cost=2.0)
        save_ticket(s, ticket=make_ticket(2, severity="STOP", action=adjust("SKU-2", "P-2", -4)),
                    unit_cost=2.0)
        save_ticket(s, ticket=make_ticket(3, severity="REVIEW", root_cause="MIS_SCAN"),
                    unit_cost=2.0)
        save_ticket(s, ticket=make_ticket(4, action=adjust("SKU-4", "P-4", -40)),
                    unit_cost=200.0)
    return tokens


def login(client: TestClient, token: str) -> None:
    answer = client.post("/ui/login", data={"api_key": token, "next": "/ui/"})
    assert answer.status_code == 303, answer.text


def test_pages_need_a_login_and_come_back_after_it(app_client: TestClient,
                                                   tokens: dict[str, str]) -> None:
    answer = app_client.get("/ui/tickets/TK2")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=%2Fui%2Ftickets%2FTK2"
    page = app_client.post("/ui/login", data={"api_key": tokens["sup1"],
                                              "next": "/ui/tickets/TK2"})
    assert page.status_code == 303 and page.headers["location"] == "/ui/tickets/TK2"
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie


def test_bad_key_and_offsite_next_are_refused(app_client: TestClient,
                                              tokens: dict[str, str]) -> None:
    bad = app_client.post("/ui/login", data={"api_key": "tly_000000000000_nope-nope-nope-nope"})
    assert bad.status_code == 401 and "not valid" in bad.text
    assert COOKIE not in bad.cookies
    off = app_client.post("/ui/login", data={"api_key": tokens["viewer1"],
                                             "next": "https://evil.example/"})
    assert off.headers["location"] == "/ui/"
    empty = app_client.post("/ui/login", data={"api_key": ""})
    assert empty.status_code == 422 and "api_key" in empty.text and "<html" in empty.text
    cross = app_client.post("/ui/login", data={"api_key": tokens["sup1"]},
                            headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403


def test_queue_lists_stop_first_and_filters(app_client: TestClient,
                                            tokens: dict[str, str]) -> None:
    login(app_client, tokens["viewer1"])
    page = app_client.get("/ui/")
    assert page.status_code == 200
    order = re.findall(r'data-ticket="(TK\d)"', page.text)
    assert order == ["TK2", "TK3", "TK4", "TK1"]
    filtered = app_client.get("/ui/", params={"root_cause": "MIS_SCAN", "severity": "",
                                              "sku": ""})
    assert re.findall(r'data-ticket="(TK\d)"', filtered.text) == ["TK3"]
    rows = app_client.get("/ui/queue/rows", params={"severity": "STOP"})
    assert rows.text.lstrip().startswith("<tbody") and 'data-total="1"' in rows.text
    bad = app_client.get("/ui/", params={"severity": "LOUD"})
    assert bad.status_code == 422


def test_ticket_page_shows_evidence_anchors_and_role(app_client: TestClient,
                                                     tokens: dict[str, str]) -> None:
    login(app_client, tokens["viewer1"])
    page = app_client.get("/ui/tickets/TK2")
    assert page.status_code == 200
    assert 'id="ev-E1"' in page.text and 'href="#ev-E2"' in page.text
    assert "deciding needs a supervisor" in page.text
    assert 'value="approve"' not in page.text
    assert app_client.get("/ui/tickets/NOPE").status_code == 404


def test_viewer_post_is_refused_and_changes_nothing(app_client: TestClient,
                                                    tokens: dict[str, str]) -> None:
    login(app_client, tokens["viewer1"])
    answer = app_client.post("/ui/tickets/TK2/decision", data={"decision": "reject"})
    assert answer.status_code == 403 and "viewer" in answer.text
    assert "pending approval" in app_client.get("/ui/tickets/TK2").text


def test_supervisor_approves_and_write_back_lands(app_client: TestClient, wms: TestClient,
                                                  tokens: dict[str, str]) -> None:
    login(app_client, tokens["sup1"])
    page = app_client.get("/ui/tickets/TK2")
    digest = re.search(r'name="action_digest" value="([0-9a-f]{64})"', page.text).group(1)
    assert "Proposed action" in page.text
    confirm = app_client.post("/ui/tickets/TK2/decision",
                              data={"decision": "approve", "action_digest": digest})
    assert confirm.status_code == 200 and "Confirm the write" in confirm.text
    assert "P-2: -4 EA of SKU-2, reason COUNT_CORRECTION" in confirm.text
    assert 'data-testid="confirm-money">-$8.00' in confirm.text
    assert wms.get("/v1/inventory", params={"sku": "SKU-2", "location": "P-2"}).json()[0][
        "qty"] == 50  # nothing is written before the confirm step
    done = app_client.post("/ui/tickets/TK2/decision",
                           data={"decision": "approve", "action_digest": digest,
                                 "confirm": "true", "comment": "checked the bin"})
    assert done.status_code == 200, done.text
    assert 'data-testid="write-back">landed' in done.text
    assert 'data-testid="state">Written' in done.text and "Written to the WMS" in done.text
    assert wms.get("/v1/inventory", params={"sku": "SKU-2", "location": "P-2"}).json()[0][
        "qty"] == 46
    again = app_client.post("/ui/tickets/TK2/decision",
                            data={"decision": "approve", "action_digest": digest,
                                  "confirm": "true"})
    assert again.status_code == 409


def test_reject_needs_a_reason(app_client: TestClient, tokens: dict[str, str]) -> None:
    login(app_client, tokens["sup1"])
    bare = app_client.post("/ui/tickets/TK3/decision", data={"decision": "reject"})
    assert bare.status_code == 422 and "A rejection needs a reason" in bare.text
    assert 'data-testid="state">Proposed' in bare.text
    done = app_client.post("/ui/tickets/TK3/decision",
                           data={"decision": "reject", "reason": "bin was recounted: all there"})
    assert done.status_code == 200 and 'data-testid="state">Rejected' in done.text
    assert "bin was recounted: all there" in done.text


def test_edit_needs_another_approver(app_client: TestClient, tokens: dict[str, str]) -> None:
    login(app_client, tokens["sup1"])
    edited = app_client.post("/ui/tickets/TK2/decision",
                             data={"decision": "edit", "param.qty_delta": "-3",
                                   "comment": "only three missing"})
    assert edited.status_code == 200 and "needs approval by someone else" in edited.text
    assert "You cannot approve" in edited.text
    bad = app_client.post("/ui/tickets/TK3/decision",
                          data={"decision": "edit", "param.sku": "", "param.location": ""})
    assert bad.status_code == 422 and "invalid params" in bad.text


def test_plot_draws_the_ticket_series(app_client: TestClient, tokens: dict[str, str],
                                      dataset: object, store: TableStore) -> None:
    tx = dataset.transactions  # type: ignore[attr-defined]
    counted = tx[tx["type"] == "CYCLE_COUNT"].iloc[0]
    with Session(store.engine) as s:
        save_ticket(s, ticket=make_ticket(9, sku=counted["sku"], location=counted["location"],
                                          txn_ids=[counted["txn_id"]]))
    app_client.app.state.view = WarehouseView(dataset)  # type: ignore[attr-defined]
    login(app_client, tokens["viewer1"])
    svg = app_client.get("/ui/tickets/TK9/plot.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.lstrip().startswith("<?xml") and "<svg" in svg.text
    assert "flagged transaction" in svg.text and "cycle count" in svg.text


def test_kpi_page_and_charts(app_client: TestClient, tokens: dict[str, str]) -> None:
    login(app_client, tokens["sup1"])
    app_client.post("/ui/tickets/TK3/decision", data={"decision": "reject", "comment": "fine"})
    page = app_client.get("/ui/kpis")
    assert page.status_code == 200
    assert 'data-testid="kpi-tickets">4<' in page.text
    charts = re.findall(r'src="(/ui/kpis/[a-z-]+\.svg)"', page.text)
    assert len(charts) == 8
    for chart in charts:
        svg = app_client.get(chart)
        assert svg.status_code == 200 and "<svg" in svg.text, chart
    assert "mis scan" in app_client.get("/ui/kpis/precision.svg").text
    assert app_client.get("/ui/kpis/nope.svg").status_code == 404


def test_chat_streams_a_cited_answer_and_keeps_it(app_client: TestClient,
                                                 tokens: dict[str, str]) -> None:
    login(app_client, tokens["viewer1"])
    with app_client.stream("POST", "/ui/tickets/TK2/chat",
                           json={"message": "why was this flagged?"}) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        body = "".join(answer.iter_text())
    assert "event: delta" in body and "event: done" in body
    cited = re.search(r'"cited": \[([^\]]*)\]', body).group(1)
    assert '"E' in cited
    page = app_client.get("/ui/tickets/TK2")
    assert "why was this flagged?" in page.text and 'class="msg assistant"' in page.text
    assert app_client.post("/ui/tickets/TK2/chat", json={"message": ""}).status_code == 422
    app_client.cookies.clear()
    assert app_client.post("/ui/tickets/TK2/chat", json={"message": "hi"}).status_code == 303


def test_dual_approval_state_is_shown(app_client: TestClient, tokens: dict[str, str]) -> None:
    login(app_client, tokens["sup1"])
    page = app_client.get("/ui/tickets/TK4")
    assert "Who may approve: 2 controllers or above" in page.text
    assert "worth more than the $500.00 a supervisor may approve" in page.text
    assert "You cannot approve" in page.text and re.search(r'value="approve"\s+disabled', page.text)
    login(app_client, tokens["ctl1"])
    page = app_client.get("/ui/tickets/TK4")
    digest = re.search(r'name="action_digest" value="([0-9a-f]{64})"', page.text).group(1)
    done = app_client.post("/ui/tickets/TK4/decision",
                           data={"decision": "approve", "action_digest": digest, "confirm": "true"})
    assert done.status_code == 200 and "1 more approver" in done.text
    assert "1 of 2 so far:" in done.text
    assert "ctl1" in done.text and "Nothing written yet" in done.text


def test_failed_write_back_is_shown_and_can_be_retried(app_client: TestClient, wms: TestClient,
                                                       tokens: dict[str, str]) -> None:
    runner = app_client.app.state.write_back  # type: ignore[attr-defined]
    adapter, runner.wms = runner.wms, None
    login(app_client, tokens["sup1"])
    page = app_client.get("/ui/tickets/TK2")
    digest = re.search(r'name="action_digest" value="([0-9a-f]{64})"', page.text).group(1)
    failed = app_client.post("/ui/tickets/TK2/decision",
                             data={"decision": "approve", "action_digest": digest,
                                   "confirm": "true"})
    assert 'data-testid="write-back">failed' in failed.text and "Retry write-back" in failed.text
    runner.wms = adapter
    retried = app_client.post("/ui/tickets/TK2/write-back")
    assert 'data-testid="write-back">landed' in retried.text
    assert wms.get("/v1/inventory", params={"sku": "SKU-2", "location": "P-2"}).json()[0][
        "qty"] == 46


def test_search_finds_a_ticket_a_sku_or_a_location(app_client: TestClient,
                                                   tokens: dict[str, str]) -> None:
    login(app_client, tokens["viewer1"])
    assert app_client.get("/ui/search", params={"q": "TK3"}).headers["location"] == \
        "/ui/tickets/TK3"
    assert app_client.get("/ui/search", params={"q": "SKU-2"}).headers["location"] == \
        "/ui/?sku=SKU-2&view=all"
    assert app_client.get("/ui/search", params={"q": " P-4 "}).headers["location"] == \
        "/ui/?location=P-4&view=all"
    missing = app_client.get("/ui/search", params={"q": "ZZZ"})
    assert missing.status_code == 404 and "No ticket, SKU or location matches" in missing.text
    assert app_client.get("/ui/search", params={"q": ""}).status_code == 422


def test_queue_is_mine_to_act_on_by_role_and_sorts_by_any_column(
        app_client: TestClient, tokens: dict[str, str]) -> None:
    login(app_client, tokens["sup1"])
    mine = app_client.get("/ui/")
    assert re.findall(r'data-ticket="(TK\d)"', mine.text) == ["TK2", "TK3", "TK1"]
    assert 'data-testid="tab-mine">Mine to act on <span class="count">3' in mine.text
    assert 'data-testid="tab-all">All tickets <span class="count">4' in mine.text
    everything = app_client.get("/ui/", params={"view": "all", "sort": "sku", "desc": "true"})
    assert re.findall(r'data-ticket="(TK\d)"', everything.text) == ["TK4", "TK3", "TK2", "TK1"]
    assert 'aria-sort="descending"' in everything.text
    by_fix = app_client.get("/ui/", params={"view": "all", "group": "fix"})
    assert "Adjust stock SKU-4 P-4 (1)" in by_fix.text
    assert "Investigate SKU-1 P-1 (1)" in by_fix.text
    login(app_client, tokens["ctl1"])
    assert re.findall(r'data-ticket="(TK\d)"', app_client.get("/ui/").text) == [
        "TK2", "TK3", "TK4", "TK1"]


def test_unknown_ticket_and_bad_filter_get_html_error_pages(app_client: TestClient,
                                                            tokens: dict[str, str]) -> None:
    login(app_client, tokens["viewer1"])
    missing = app_client.get("/ui/tickets/NOPE", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "no ticket &#39;NOPE&#39;" in missing.text and "Back to the queue" in missing.text
    bad = app_client.get("/ui/", params={"sort": "colour"}, headers={"Accept": "text/html"})
    assert bad.status_code == 422 and "These filters are not valid: sort" in bad.text
    assert app_client.get("/ui/nowhere").status_code == 404
    api = app_client.get("/v1/tickets/NOPE", headers={"Authorization": f"Bearer {tokens['sup1']}"})
    assert api.status_code == 404 and api.json()["detail"]
