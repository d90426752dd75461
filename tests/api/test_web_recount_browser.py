"""The recount loop in headless Chromium: approve a RECOUNT, post the blind count, approve the
follow-up, with the real triage graph (SQLite checkpoints) and the reference WMS on loopback.

The supervisor approves a RECOUNT on its ticket page; the WMS gets one blind count task and
the ticket waits (AWAITING_COUNT, the graph paused at ``await_count``). From the ticket's
link the count form shows no system quantity; the count posted there resumes the graph,
which proposes the follow-up with the count as evidence; a second supervisor approves it
and it lands in the WMS. Screenshots go to tests/artifacts/ (recount-*.png).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from actions.wms_rest import RestWmsAdapter
from agents.graph import build_graph
from agents.reasoners.offline import OfflineReasoner
from api.app import create_app
from api.triage import open_ticket
from sim.generator import GeneratorConfig, generate
from sim.wms.app import create_sim_app
from tests.api_fixtures import labelled_incidents, make_users, open_store
from tests.browser import launch_chromium, screenshot, sign_in
from tests.loopback_server import serve_on_loopback
from tools.view import WarehouseView
from warehouse.settings import get_settings

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The reference WMS, the Tally app with its graph, and the RECOUNT ticket it opened."""
    data = generate(GeneratorConfig(seed=3, days=7, skus=150), progress=False)
    view = WarehouseView(data)
    items = data.items[["sku", "case_qty", "unit_weight_kg", "unit_cost"]]
    with pytest.MonkeyPatch.context() as env, serve_on_loopback(create_sim_app()) as wms_url:
        # module scope runs before the per-test settings: the checkpoints get their own dir
        env.setenv("TALLY_DATA_DIR", str(tmp_path_factory.mktemp("recount-data")))
        get_settings.cache_clear()
        httpx.put(f"{wms_url}/v1/items", json=items.astype(object).where(
            items.notna(), None).to_dict("records")).raise_for_status()
        store = open_store(tmp_path_factory.mktemp("recount"))
        adapter = RestWmsAdapter(wms_url, attempts=2, timeout_s=5)
        app = create_app(get_settings(), store=store, wms=adapter, graph_factory=lambda cp:
                         build_graph(reasoner=OfflineReasoner(), view=view, wms=adapter,
                                     checkpointer=cp))
        with serve_on_loopback(app, lifespan="on") as url:
            app.state.view = view
            tokens = make_users(store.engine, ("sam", "supervisor"), ("sue", "supervisor"))
            with Session(store.engine) as s:  # the first labelled case the graph recounts
                opened = (open_ticket(app.state.graph, s, audit=app.state.audit,
                                      incident=inc).model_copy()
                          for inc in labelled_incidents(data, 12))
                record = next(r for r in opened if r.action["type"] == "RECOUNT")
            yield {"url": url, "wms": wms_url, "tokens": tokens, "ticket": record,
                   "graph": app.state.graph}
        adapter.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as b:
        yield b


def test_recount_approve_count_follow_up_in_the_browser(browser: Any, world: dict) -> None:
    base, ticket, graph = world["url"], world["ticket"], world["graph"]
    thread = {"configurable": {"thread_id": ticket.ticket_id}}
    assert ticket.action["type"] == "RECOUNT" and ticket.status == "PENDING_APPROVAL"
    page = sign_in(browser, base, world["tokens"]["sam"])
    page.goto(f"{base}/ui/tickets/{ticket.ticket_id}")
    assert page.get_by_test_id("action-type").inner_text() == "recount"
    page.get_by_role("button", name="Approve…").first.click()
    page.get_by_test_id("confirm-preview").wait_for()
    page.get_by_role("button", name="Confirm approval").click()
    page.get_by_test_id("count-form-link").wait_for()
    assert page.get_by_test_id("status").inner_text() == "awaiting count"
    assert graph.get_state(thread).next == ("await_count",)
    tasks = httpx.get(f"{world['wms']}/v1/actions").json()
    assert [t["action_type"] for t in tasks] == ["RECOUNT"]  # one blind count task
    screenshot(page, "recount-awaiting")

    page.get_by_test_id("count-form-link").click()
    card = page.get_by_test_id(f"recount-{ticket.ticket_id}")
    card.wait_for()
    assert "expected" not in card.inner_text().lower()  # blind: no system quantity shown
    location = card.get_by_label("Location").input_value()
    assert location
    card.get_by_label("Counted (eaches)").fill("0")
    screenshot(page, "recount-form")
    card.get_by_role("button", name="Post count").click()
    page.wait_for_url(f"{base}/ui/tickets/{ticket.ticket_id}")
    assert page.get_by_test_id("state").inner_text() == "Proposed"
    follow_up = page.get_by_test_id("action-type").inner_text()
    assert follow_up in ("adjust inventory", "no action", "correct master data")
    assert "CYCLE_COUNT" in page.locator("#evidence").inner_text()  # the count is evidence
    assert graph.get_state(thread).next == ("await_approval",)
    screenshot(page, "recount-follow-up")
    assert page.js_errors == []

    other = sign_in(browser, base, world["tokens"]["sue"])
    other.goto(f"{base}/ui/tickets/{ticket.ticket_id}")
    other.get_by_role("button", name="Approve…").first.click()
    other.get_by_role("button", name="Confirm approval").click()
    other.get_by_test_id("write-back").wait_for()
    assert other.get_by_test_id("state").inner_text() == "Written"
    applied = httpx.get(f"{world['wms']}/v1/actions").json()
    assert len(applied) == 2 and len({a["idempotency_key"] for a in applied}) == 2
    other.goto(f"{base}/ui/recounts")
    assert "No recount is waiting" in other.locator("main").inner_text()
