"""The graph with the OpenAI-compatible reasoner, mocked at the HTTP layer with respx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from agents.pipeline import triage
from agents.reasoners import build_reasoner
from agents.reasoners.toolbox import make_toolbox
from scoring.types import Incident
from tests.crafted_warehouse import crafted
from tools.view import WarehouseView
from warehouse.contract import ActionType, RootCause, Severity
from warehouse.settings import Settings

BASE = "http://llm.test/v1"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "openai"
SHORT_RECEIPT = Incident(incident_id="INC-RCV", txn_ids=["T01"], sku="COLA-500",
                         location="DOCK-1", flags=[], risk_score=0.8, severity=Severity.REVIEW)


def ok(name: str) -> httpx.Response:
    return httpx.Response(200, json=json.loads((FIXTURES / f"{name}.json").read_text()))


@pytest.fixture
def llm() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=False) as router:
        yield router


@pytest.fixture(scope="module")
def view() -> WarehouseView:
    return WarehouseView(crafted())


def run(view: WarehouseView, **settings: Any):  # noqa: ANN201 - one ticket
    s = Settings(llm_base_url=BASE, llm_model="gpt-4o-mini", llm_api_key="sk-test",
                 llm_retries=0, **settings)
    return triage([SHORT_RECEIPT], view, build_reasoner(s, tools=make_toolbox(view)))[0]


def test_tool_calling_ticket(view: WarehouseView, llm: respx.MockRouter) -> None:
    route = llm.post("/chat/completions", name="chat").mock(
        side_effect=[ok("graph_tool_call"), ok("graph_classify"), ok("graph_explain")])
    ticket = run(view)

    assert ticket.reasoner == "openai" and ticket.fallback_reason is None
    assert ticket.root_cause is RootCause.RECEIVING_ERROR and ticket.confidence == 0.9
    assert ticket.summary == ("Receipt T01 short by 12 EA against ASN-1"
                              " · COLA-500 (Fizz Cola 500ml bottle)")
    assert (ticket.llm_calls, ticket.llm_tokens) == (3, 1650 + 24 + 1890 + 52 + 1720 + 71)
    # the policy, not the model, chose the action: the dock weight fits the ASN quantity
    assert ticket.action.type is ActionType.ADJUST_INVENTORY
    assert ticket.action.params == {"sku": "COLA-500", "location": "A-01-1", "qty_delta": 12,
                                    "reason_code": "COUNT_CORRECTION"}
    assert ticket.status == "PENDING_APPROVAL"
    sent = [json.loads(c.request.content) for c in route.calls]
    tools = {t["function"]["name"] for t in sent[0]["tools"]}
    assert "receipt_vs_asn" in tools and not any("write" in t or "adjust" in t for t in tools)
    reply = json.loads(sent[1]["messages"][-1]["content"])
    assert reply["status"] == "ok" and reply["data"]["lines"][0]["expected"] == 60


def test_invented_number_is_repaired(view: WarehouseView, llm: respx.MockRouter) -> None:
    llm.post("/chat/completions").mock(
        side_effect=[ok("graph_tool_call"), ok("graph_classify"), ok("graph_explain_invented")])
    ticket = run(view)
    assert "17" not in ticket.explanation
    assert ticket.explanation == "The receipt posted 48 EA while the ASN expected 60 [E1]."
    assert "explanation: repaired (number 17 is not in the evidence)" in ticket.grounding


def test_server_errors_fall_back_to_offline_and_say_so(view: WarehouseView,
                                                       llm: respx.MockRouter) -> None:
    llm.post("/chat/completions").mock(return_value=httpx.Response(500, json={"error": "boom"}))
    ticket = run(view)
    assert ticket.fallback_reason and ticket.fallback_reason.startswith("classify")
    assert ticket.status == "PENDING_APPROVAL" and ticket.explanation
    assert ticket.reasoner == "offline"  # the verdict is the offline one's, and says so


@pytest.mark.parametrize(("failure", "reason"), [
    (httpx.ReadTimeout("timed out"), "classify: APITimeoutError: Request timed out."),
    (httpx.ConnectError("connection refused"), "classify: APIConnectionError: Connection error."),
])
def test_hanging_or_closed_endpoint_still_gives_the_policy_action_and_names_the_offline_reasoner(
        view: WarehouseView, llm: respx.MockRouter, failure: Exception, reason: str) -> None:
    route = llm.post("/chat/completions").mock(side_effect=failure)
    ticket = run(view, llm_timeout_s=0.5)
    offline = triage([SHORT_RECEIPT], view, build_reasoner(Settings()))[0]
    assert route.call_count == 1  # retries 0: one try, then the offline reasoner
    assert ticket.reasoner == "offline" and offline.reasoner == "offline"
    assert ticket.fallback_reason == reason
    assert (ticket.root_cause, ticket.action, ticket.status) == (
        offline.root_cause, offline.action, offline.status)


def test_model_verdict_gets_the_policy_action_not_its_own(view: WarehouseView,
                                                          llm: respx.MockRouter) -> None:
    """A small model's answer cannot widen the action: the policy drafts it from the evidence."""
    llm.post("/chat/completions").mock(side_effect=[ok("graph_classify"), ok("graph_explain")])
    ticket = run(view, llm_tools=False)
    assert ticket.reasoner == "openai" and ticket.llm_calls == 2
    assert ticket.action.type is ActionType.ADJUST_INVENTORY
    assert ticket.action.params["qty_delta"] == 12  # the dock weight, not the model, decides
