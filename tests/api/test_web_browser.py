"""The web UI end to end in headless Chromium: queue, filter, ticket page with its plot,
a viewer who cannot approve, a supervisor whose approval lands in the reference WMS.

Both servers run on loopback: the reference WMS (wms_sim) and the Tally app with its
lifespan. Tickets are made from a small generated dataset's labelled cases, with evidence
read off that dataset's ledger. Screenshots go to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlmodel import Session

from actions.wms_rest import RestWmsAdapter
from api.app import create_app
from api.tickets import save_ticket
from sim.generator import GeneratorConfig, generate
from sim.wms.app import create_sim_app
from tests.api_fixtures import make_users
from tests.api_store import TableStore
from tests.browser import launch_chromium, screenshot
from tests.loopback_server import serve_on_loopback
from tools.view import WarehouseView
from warehouse.contract import Action, EvidenceItem, Ticket
from warehouse.settings import get_settings

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]
SEVERITY = {"MIS_SCAN": "STOP", "SHRINKAGE": "STOP", "SYSTEM_SYNC": "REVIEW"}


def case_ticket(view: WarehouseView, case: pd.Series, n: int, action: Action) -> Ticket:
    """A ticket about one labelled case, its evidence quoted from the dataset's ledger."""
    ids = str(case["txn_ids"]).split()
    rows = view.txns(ids)
    first = rows.iloc[0]
    sku = case["sku"] if isinstance(case["sku"], str) else str(first["sku"])
    location = case["location"] if isinstance(case["location"], str) else str(first["location"])
    item = view.items.loc[sku] if sku in view.items.index else None
    evidence = [
        EvidenceItem(id="E1", source="transactions",
                     fact=f"{first['txn_id']}: {first['type']} of {first['qty']:g} "
                          f"{first['uom'] or 'EA'} at {first['location']} by {first['user_id']}"),
        EvidenceItem(id="E2", source="ledger",
                     fact=f"balance of {sku} at {first['location']} went from "
                          f"{first['bal_before']:g} to {first['bal_after']:g}"),
        EvidenceItem(id="E3", source="item_master",
                     fact=f"{sku} case_qty {item['case_qty'] if item is not None else 'unknown'}"),
    ]
    return Ticket(
        ticket_id=f"T-{n:03d}", txn_ids=ids, sku=sku, location=location,
        risk_score=min(0.99, 0.5 + n / 100),
        severity=SEVERITY.get(case["root_cause"], "REVIEW"), root_cause=case["root_cause"],
        confidence=0.8, summary=f"{case['root_cause'].lower()} on {sku} at {location}",
        explanation=f"{first['type']} {first['txn_id']} [E1] moved the balance [E2]; "
                    f"see the item master [E3].",
        evidence=evidence, action=action, status="PENDING_APPROVAL",
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The reference WMS and the Tally app on loopback, with users and tickets."""
    data = generate(GeneratorConfig(seed=7, days=7, skus=150), progress=False)
    view = WarehouseView(data)
    cases = data.labels.reset_index(drop=True)
    sim = create_sim_app()
    with serve_on_loopback(sim) as wms_url:
        mis_scan = cases[cases["root_cause"] == "MIS_SCAN"].iloc[0]
        sku, location = str(mis_scan["sku"]), str(mis_scan["location"])
        httpx.put(f"{wms_url}/v1/items", json=[{"sku": sku, "case_qty": 1}]).raise_for_status()
        httpx.put(f"{wms_url}/v1/inventory",
                  json=[{"sku": sku, "location": location, "qty": 30}]).raise_for_status()
        store = TableStore(f"sqlite:///{tmp_path_factory.mktemp('ui')}/tally.db")
        adapter = RestWmsAdapter(wms_url, attempts=2, timeout_s=5)
        app = create_app(get_settings(), store=store, wms=adapter)
        with serve_on_loopback(app, lifespan="on") as url:
            app.state.view = view
            tokens = make_users(store.engine, ("vera", "viewer"), ("sam", "supervisor"))
            adjust = Action(type="ADJUST_INVENTORY", params={
                "sku": sku, "location": location, "qty_delta": -2,
                "reason_code": "COUNT_CORRECTION"})
            others = cases[cases.index != mis_scan.name].head(5)
            with Session(store.engine) as s:
                save_ticket(s, ticket=case_ticket(view, mis_scan, 1, adjust), unit_cost=1.0)
                for n, (_, case) in enumerate(others.iterrows(), start=2):
                    recount = Action(type="RECOUNT", params={"locations": [str(case["location"])]})
                    save_ticket(s, ticket=case_ticket(view, case, n, recount))
            yield {"url": url, "wms": wms_url, "tokens": tokens, "store": store, "view": view,
                   "cases": cases, "adjust_sku": sku, "adjust_location": location}
        adapter.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as b:
        yield b


def sign_in(browser: Any, base: str, token: str, width: int = 1366, height: int = 900) -> Any:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(f"{base}/ui/")
    assert "/ui/login" in page.url
    page.get_by_label("API key").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/ui/")
    return page


def test_viewer_browses_queue_filters_and_opens_a_ticket(browser: Any, world: dict) -> None:
    base = world["url"]
    page = sign_in(browser, base, world["tokens"]["vera"])
    rows = page.locator("#queue-rows tr")
    assert rows.count() == 6
    assert page.locator("#queue-rows tr").first.get_attribute("class") == "sev-row-STOP"
    screenshot(page, "ui-queue")

    page.get_by_text("Filter and group").click()
    page.locator("#f-cause").select_option("MIS_SCAN")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**root_cause=MIS_SCAN**")
    causes = page.locator("#queue-rows tr td:nth-child(3)").all_inner_texts()
    assert causes and set(causes) == {"mis scan"}

    page.locator("#queue-rows a").first.click()
    page.wait_for_url("**/ui/tickets/**")
    plot = page.locator("#balance-plot")
    plot.scroll_into_view_if_needed()
    page.wait_for_function("document.getElementById('balance-plot').complete")
    assert plot.evaluate("img => img.naturalWidth") > 100
    page.get_by_role("link", name="[E2]").click()
    assert "cited" in page.locator("#ev-E2").get_attribute("class")
    page.get_by_label("Your question").fill("why was this flagged?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator("#chat-log .msg.assistant[data-citations]")
    answer.wait_for(timeout=15_000)
    assert answer.get_attribute("aria-busy") is None
    cited = answer.get_attribute("data-citations").split()
    answer.locator("a.cite").first.click()
    assert "cited" in page.locator(f"#ev-{cited[0]}").get_attribute("class")
    assert page.get_by_test_id("may-approve").inner_text().startswith("You are a viewer")
    assert page.get_by_role("button", name="Approve…", exact=True).count() == 0
    screenshot(page, "ui-ticket")

    answer = page.request.post(page.url.split("#")[0] + "/decision", form={"decision": "reject"})
    assert answer.status == 403


def test_queue_shows_new_tickets_live(browser: Any, world: dict) -> None:
    page = sign_in(browser, world["url"], world["tokens"]["vera"])
    before = page.locator("#queue-rows tr").count()
    case = world["cases"].iloc[-1]
    action = Action(type="INVESTIGATE", params={"sku": str(case["sku"])})
    with Session(world["store"].engine) as s:
        save_ticket(s, ticket=case_ticket(world["view"], case, 99, action))
    page.locator('#queue-rows tr[data-ticket="T-099"]').wait_for(timeout=10_000)
    assert page.locator("#queue-rows tr").count() == before + 1
    assert "new ticket" in page.locator("#queue-status").inner_text()


def test_supervisor_approves_and_the_write_back_lands(browser: Any, world: dict) -> None:
    base = world["url"]
    page = sign_in(browser, base, world["tokens"]["sam"])
    page.goto(f"{base}/ui/tickets/T-001")
    assert "may approve" in page.get_by_test_id("may-approve").inner_text()
    page.get_by_role("button", name="Approve…").click()
    page.get_by_role("button", name="Confirm approval").wait_for()
    page.get_by_label("Comment (kept in the history)").fill("bin checked, two missing")
    page.get_by_role("button", name="Confirm approval").click()
    page.get_by_test_id("write-back").wait_for()
    assert page.get_by_test_id("write-back").inner_text() == "landed"
    assert page.get_by_test_id("status").inner_text() == "written back"
    screenshot(page, "ui-ticket-approved")
    rows = httpx.get(f"{world['wms']}/v1/inventory",
                     params={"sku": world["adjust_sku"], "location": world["adjust_location"]})
    assert rows.json()[0]["qty"] == 28
    applied = httpx.get(f"{world['wms']}/v1/actions").json()
    assert len(applied) == 1
    assert "bin checked, two missing" in page.locator("#history").inner_text()


def test_tablet_layout_and_keyboard(browser: Any, world: dict) -> None:
    base = world["url"]
    page = sign_in(browser, base, world["tokens"]["vera"], width=820, height=1180)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0
    page.locator("#queue-rows a").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/tickets/**")
    assert page.evaluate(overflow) <= 0
    boxes = [page.locator(f"#{h}").bounding_box() for h in ("h-plot", "h-decide")]
    # one column on a tablet, the decision first: reachable without scrolling past the plot
    assert boxes[1]["y"] < boxes[0]["y"] and abs(boxes[1]["x"] - boxes[0]["x"]) < 5
    screenshot(page, "ui-ticket-tablet")
    page.goto(f"{base}/ui/kpis")
    page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    screenshot(page, "ui-kpis")
