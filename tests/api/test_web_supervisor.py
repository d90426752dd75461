"""A supervisor's minute, in headless Chromium, on tickets the offline pipeline really made.

A generated warehouse is scored and triaged; its tickets are served with the reference WMS
behind them. From the queue ("mine to act on", money, item names), the supervisor opens the
most valuable ticket they may act on, reads what happened and what it costs, asks "what else
could it be?", and approves an adjustment through its preview; on a desktop and on a 390 px
and 360 px phone. Error pages and the money KPIs are checked too. Screenshots go to
tests/artifacts/ (sup-*.png, phone-*.png).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from actions.wms_rest import RestWmsAdapter
from agents.batch import score_and_triage
from api.app import create_app
from api.tickets import save_ticket
from sim.generator import GeneratorConfig, generate
from sim.wms.app import create_sim_app
from tests.api_fixtures import make_users
from tests.api_store import TableStore
from tests.browser import launch_chromium, screenshot, sign_in
from tests.loopback_server import serve_on_loopback
from tools.view import WarehouseView
from warehouse.settings import get_settings

pytestmark = pytest.mark.timeout(240)
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Real tickets of a generated warehouse, the reference WMS and the app on loopback."""
    data = generate(GeneratorConfig(seed=7, days=7, skus=150), progress=False)
    batch = score_and_triage(data, get_settings(), progress=False)
    view = WarehouseView(data)
    items = view.items
    adjusts = [t for t in batch.tickets if t.action.type.value == "ADJUST_INVENTORY"]
    sim = create_sim_app()
    with serve_on_loopback(sim) as wms_url:
        httpx.put(f"{wms_url}/v1/items", json=[
            {"sku": str(r["sku"]), "case_qty": int(r["case_qty"])}
            for r in items.to_dict("records")]).raise_for_status()
        from api.web.preview import current_balance
        stock = [{"sku": t.action.params["sku"], "location": t.action.params["location"],
                  "qty": current_balance(view.ledger, t.action.params["sku"],
                                         t.action.params["location"]) or 0}
                 for t in adjusts]
        httpx.put(f"{wms_url}/v1/inventory", json=stock).raise_for_status()
        store = TableStore(f"sqlite:///{tmp_path_factory.mktemp('sup')}/tally.db")
        adapter = RestWmsAdapter(wms_url, attempts=2, timeout_s=5)
        app = create_app(get_settings(), store=store, wms=adapter)
        with serve_on_loopback(app, lifespan="on") as url:
            app.state.view = view
            tokens = make_users(store.engine, ("sam", "supervisor"), ("cleo", "controller"),
                                ("vera", "viewer"))
            with Session(store.engine) as s:
                for t in batch.tickets:
                    cost = items.at[t.sku, "unit_cost"] if t.sku in items.index else None
                    save_ticket(s, ticket=t, unit_cost=None if cost is None else float(cost))
            yield {"url": url, "wms": wms_url, "tokens": tokens, "tickets": batch.tickets,
                   "adjusts": adjusts, "items": items}
        adapter.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as b:
        yield b


def money_of(text: str) -> float:
    return float(text.replace("$", "").replace(",", "").replace("—", "nan"))


def test_queue_is_mine_with_money_names_sorting_grouping_and_pages(browser: Any,
                                                                   world: dict) -> None:
    page = sign_in(browser, world["url"], world["tokens"]["sam"])
    mine = int(page.get_by_test_id("tab-mine").locator(".count").inner_text())
    everyone = int(page.get_by_test_id("tab-all").locator(".count").inner_text())
    assert page.get_by_test_id("tab-mine").get_attribute("aria-current") == "page"
    assert 0 < mine < everyone == len(world["tickets"])
    rows = page.locator("#queue-rows tr[data-ticket]")
    assert rows.count() == min(25, mine) and all(
        "mine" in (c or "") for c in rows.evaluate_all("rs => rs.map(r => r.className)"))
    first_sku = rows.first.locator("td").nth(3).inner_text()
    sku = first_sku.split()[0]
    assert world["items"].at[sku, "description"] in first_sku  # the item's name beside its SKU
    severities = rows.evaluate_all("rs => rs.map(r => r.className.split(' ')[0])")
    ranks = [{"sev-row-STOP": 0, "sev-row-REVIEW": 1, "sev-row-INFO": 2}[c] for c in severities]
    assert ranks == sorted(ranks)
    assert page.get_by_test_id("counts").inner_text().startswith(f"1–{min(25, mine)} of {mine}")
    screenshot(page, "sup-queue")

    page.get_by_role("link", name="Value at risk").click()  # money: largest first
    page.wait_for_url("**sort=value**desc=True**")
    values = [money_of(v) for v in page.get_by_test_id("value").all_inner_texts()]
    assert values == sorted(values, reverse=True) and values[0] > 0
    page.get_by_role("link", name="Value at risk ▼").click()  # the same column flips
    page.wait_for_url("**sort=value**")
    values = [money_of(v) for v in page.get_by_test_id("value").all_inner_texts()]
    assert values == sorted(values)
    page.get_by_test_id("tab-all").click()
    page.wait_for_url("**view=all**")
    pager = page.locator("nav.pager .pages a")
    assert pager.count() >= 3 and page.locator("nav.pager .page-now").inner_text() == "1"
    page.locator("nav.pager .pages a", has_text="2").first.click()
    page.wait_for_url("**page=2**")
    assert page.get_by_test_id("counts").inner_text().startswith(f"26–{min(50, everyone)}")
    page.goto(f"{world['url']}/ui/?view=all&group=fix")
    groups = page.locator("#queue-rows tr.group").all_inner_texts()
    assert groups and all(re.search(r"\(\d+\)$", g) for g in groups)
    assert page.js_errors == []


def test_most_valuable_ticket_explains_itself_and_the_chat_reasons(browser: Any,
                                                                   world: dict) -> None:
    page = sign_in(browser, world["url"], world["tokens"]["sam"])
    page.get_by_role("link", name="Value at risk").click()
    page.wait_for_url("**desc=True**")
    top = page.locator("#queue-rows tr[data-ticket]").first
    value = top.get_by_test_id("value").inner_text()
    top.locator("td.summary a").click()
    page.wait_for_url("**/ui/tickets/**")
    assert page.get_by_test_id("value-at-risk").inner_text() == value
    explanation = page.get_by_test_id("explanation").inner_text()
    assert explanation.startswith("What happened:") and "Why " in explanation
    assert "What to do:" in explanation and "=" not in explanation.split("Why")[0]
    assert page.get_by_test_id("who-approves").inner_text().startswith("Who may approve: 1 ")
    assert page.locator("#evidence .code-label").count() > 0  # reason codes with labels
    page.wait_for_function("document.getElementById('balance-plot').complete")
    assert page.locator("#balance-plot").evaluate("img => img.naturalWidth") > 100
    page.get_by_role("button", name="What else could it be?").click()
    answer = page.locator("#chat-log .msg.assistant").last
    page.wait_for_function("() => { const m = [...document.querySelectorAll("
                           "'#chat-log .msg.assistant')].pop(); "
                           "return m && !m.hasAttribute('aria-busy'); }")
    text = answer.inner_text()
    assert "The reasoner put" in text and "%" in text and "To tell it apart" in text
    # the whole answer is visible: nothing clipped inside the panel
    assert answer.evaluate("m => m.scrollHeight <= m.clientHeight + 1")
    assert page.locator("#chat-log").evaluate("l => getComputedStyle(l).overflowY") == "visible"
    page.get_by_label("Your question").fill("how much money is at stake?")
    page.get_by_role("button", name="Ask", exact=True).click()
    page.wait_for_function("() => [...document.querySelectorAll('#chat-log .msg.assistant')]"
                           ".pop().innerText.startsWith('Value at risk')")
    assert value in page.locator("#chat-log .msg.assistant").last.inner_text()
    screenshot(page, "sup-ticket-chat")
    assert page.js_errors == []


def test_approve_shows_the_exact_write_then_lands_once(browser: Any, world: dict) -> None:
    costs = world["items"]["unit_cost"]
    ticket = next(t for t in world["adjusts"]  # one a supervisor may approve (<= $500)
                  if abs(t.action.params["qty_delta"]) * costs[t.action.params["sku"]] <= 500)
    p = ticket.action.params
    page = sign_in(browser, world["url"], world["tokens"]["sam"])
    page.goto(f"{world['url']}/ui/tickets/{ticket.ticket_id}")
    assert page.get_by_test_id("state").inner_text() == "Proposed"
    assert page.get_by_test_id("action-title").inner_text() == "Proposed action"
    before = httpx.get(f"{world['wms']}/v1/inventory",
                       params={"sku": p["sku"], "location": p["location"]}).json()[0]["qty"]
    page.get_by_role("button", name="Approve…").click()
    confirm = page.get_by_test_id("confirm-preview")
    confirm.wait_for()
    after = before + p["qty_delta"]
    assert f"{p['location']}: {before:g} -> {after:g} EA of {p['sku']}" in confirm.inner_text()
    assert re.match(r"[+-]\$\d", page.get_by_test_id("confirm-money").inner_text())
    assert httpx.get(f"{world['wms']}/v1/actions").json() == []  # nothing written yet
    screenshot(page, "sup-confirm")
    page.get_by_role("button", name="Confirm approval").click()
    page.get_by_test_id("write-back").wait_for()
    assert page.get_by_test_id("state").inner_text() == "Written"
    assert page.get_by_test_id("action-title").inner_text() == "Written to the WMS"
    assert httpx.get(f"{world['wms']}/v1/inventory", params={
        "sku": p["sku"], "location": p["location"]}).json()[0]["qty"] == after
    assert len(httpx.get(f"{world['wms']}/v1/actions").json()) == 1
    screenshot(page, "sup-written")
    other = next(t for t in world["tickets"] if t.status == "PENDING_APPROVAL"
                 and t.action.type.value in ("RECOUNT", "INVESTIGATE"))
    page.goto(f"{world['url']}/ui/tickets/{other.ticket_id}")
    refused = page.request.post(f"{world['url']}/ui/tickets/{other.ticket_id}/decision",
                                form={"decision": "reject"})
    assert refused.status == 422 and "A rejection needs a reason" in refused.text()
    page.get_by_text("Reject…").click()
    page.get_by_label("Why is the proposal wrong?").fill("counted the bin: nothing missing")
    page.get_by_role("button", name="Reject", exact=True).click()
    page.get_by_test_id("state").wait_for()
    assert page.get_by_test_id("state").inner_text() == "Rejected"
    assert "counted the bin: nothing missing" in page.locator("#history").inner_text()


@pytest.mark.parametrize(("width", "height"), [(390, 844), (360, 740)])
def test_phone_fits_and_the_decision_is_on_the_first_screen(browser: Any, world: dict,
                                                            width: int, height: int) -> None:
    page = sign_in(browser, world["url"], world["tokens"]["sam"], width=width, height=height)
    assert page.evaluate(OVERFLOW) <= 0
    link = page.locator("#queue-rows td.summary a").first
    box = link.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["y"] < height
    screenshot(page, f"phone-queue-{width}")
    target = [t for t in world["tickets"] if len(t.evidence) > 12 and t.action.type.value in (
        "RECOUNT", "RESLOT", "VOID_DUPLICATE")][-1]  # long evidence; a supervisor decides
    page.goto(f"{world['url']}/ui/tickets/{target.ticket_id}")
    assert page.evaluate(OVERFLOW) <= 0
    approve = page.get_by_role("button", name="Approve…").first
    box = approve.bounding_box()
    assert box["y"] + box["height"] <= height, f"Approve at {box['y']:.0f} px of {height}"
    screenshot(page, f"phone-ticket-{width}")
    approve.click()  # the preview step works from the phone too
    page.get_by_test_id("confirm-preview").wait_for()
    box = page.get_by_role("button", name="Confirm approval").bounding_box()
    assert box["x"] + box["width"] <= width
    screenshot(page, f"phone-confirm-{width}")


def test_error_pages_and_money_kpis(browser: Any, world: dict) -> None:
    page = sign_in(browser, world["url"], world["tokens"]["vera"])
    answer = page.goto(f"{world['url']}/ui/tickets/NO-SUCH-TICKET")
    assert answer.status == 404 and "no ticket" in page.get_by_test_id("error-page").inner_text()
    answer = page.goto(f"{world['url']}/ui/?severity=LOUD")
    assert answer.status == 422 and "severity" in page.get_by_test_id("error-page").inner_text()
    screenshot(page, "sup-error")
    page.goto(f"{world['url']}/ui/kpis")
    page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    open_money = money_of(page.get_by_test_id("kpi-open-money").inner_text())
    assert open_money > 0
    assert page.locator("#money-by-cause tbody tr").count() >= 3
    screenshot(page, "sup-kpis")
    phone = sign_in(browser, world["url"], world["tokens"]["vera"], width=390, height=844)
    phone.goto(f"{world['url']}/ui/kpis")
    assert phone.evaluate(OVERFLOW) <= 0
