"""POST /v1/tickets/{id}/chat: streamed answers that cite evidence, refuse writes, are kept;
the offline chat without a model and a model conversation with read-only tools (respx)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from api.tickets import save_ticket
from tests.api_fixtures import adjust, auth, make_ticket, make_users, open_store
from warehouse.contract import Action, EvidenceItem
from warehouse.settings import get_settings
from warehouse.store import Store

FIXTURES = Path(__file__).parents[1] / "fixtures" / "openai"
BASE = "http://llm.test/v1"


def events(answer: httpx.Response) -> list[tuple[str, dict]]:
    assert answer.headers["content-type"].startswith("text/event-stream")
    out = []
    for block in answer.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def reply(answer: httpx.Response) -> tuple[str, dict]:
    """The streamed text put together, and the done event."""
    evs = events(answer)
    assert evs[-1][0] == "done" and all(kind == "delta" for kind, _ in evs[:-1])
    return "".join(d["text"] for _, d in evs[:-1]), evs[-1][1]


@pytest.fixture
def store(tmp_path: object) -> Store:
    return open_store(tmp_path)


def seed(store: Store) -> dict[str, dict[str, str]]:
    with Session(store.engine) as s:
        save_ticket(s, ticket=make_ticket(1, action=adjust("SKU-1", "P-1", -6)), unit_cost=40.0)
        save_ticket(s, ticket=make_ticket(2, location="P-1", sku="SKU-9", status="REJECTED"))
        save_ticket(s, ticket=make_ticket(3, root_cause="MIS_SCAN", sku="SKU-1"))
    users = make_users(store.engine, ("viewer1", "viewer"), ("sup1", "supervisor"))
    return {n: auth(t) for n, t in users.items()}


@pytest.fixture
def offline(store: Store) -> Iterator[tuple[TestClient, dict]]:
    with TestClient(create_app(get_settings(), store=store)) as c:
        yield c, seed(store)


def ask(client: TestClient, headers: dict, message: str, ticket: str = "TK1") -> httpx.Response:
    return client.post(f"/v1/tickets/{ticket}/chat", json={"message": message}, headers=headers)


def test_why_flagged_cites_the_evidence(offline: tuple[TestClient, dict]) -> None:
    client, users = offline
    answer = ask(client, users["viewer1"], "Why was this flagged?")
    assert answer.status_code == 200
    text, done = reply(answer)
    assert "shrinkage (SHRINKAGE, 80% confidence" in text
    assert "[E1] 3 negative adjustments of SKU-1" in text
    assert done["cited"] == ["E1", "E2"] and done["kind"] == "why"  # what the explanation cites
    assert "unit cost 40.00" not in text  # not every evidence row: only what the case rests on
    assert done["model"] == "offline"


def test_balance_answer_uses_only_balance_evidence(offline: tuple[TestClient, dict]) -> None:
    client, users = offline
    text, done = reply(ask(client, users["viewer1"], "what's the balance history here?"))
    assert done["cited"] == ["E2"] and "fell from 10 to 4" in text and "[E1]" not in text


def test_what_approval_would_do(offline: tuple[TestClient, dict]) -> None:
    client, users = offline
    text, done = reply(ask(client, users["sup1"], "What happens if I approve this?"))
    assert done["kind"] == "approval"
    assert "changes the system balance of SKU-1 at P-1 by -6" in text
    assert "worth 240.00" in text and "1 approver with the supervisor role" in text
    assert "cannot approve" in text
    assert done["cited"] == ["E1", "E2"]  # what the explanation relies on


def test_similar_past_tickets_and_evidence(offline: tuple[TestClient, dict]) -> None:
    client, users = offline
    text, done = reply(ask(client, users["viewer1"], "Have we seen similar tickets before?"))
    assert done["cited"] == ["TK2", "TK3"]  # same cause first, then any cause on the SKU
    assert text.index("TK2") < text.index("Other tickets on SKU-1") < text.index("TK3")
    assert "REJECTED" in text and "MIS_SCAN" in text
    text, done = reply(ask(client, users["viewer1"], "show me the evidence"))
    assert done["kind"] == "evidence" and text.count("\n- [E") == 3


@pytest.mark.parametrize("message", [
    "approve it", "Please adjust the stock to 4", "can you reject this ticket?",
    "go ahead", "I approve", "ok, write it back", "I want you to correct the case qty",
])
def test_write_requests_are_refused_and_change_nothing(
    offline: tuple[TestClient, dict], message: str
) -> None:
    client, users = offline
    text, done = reply(ask(client, users["sup1"], message))
    assert done["kind"] == "refused" and done["cited"] == []
    assert "read-only" in text
    ticket = client.get("/v1/tickets/TK1", headers=users["sup1"]).json()
    assert ticket["status"] == "PENDING_APPROVAL" and ticket["approvals"] == []
    assert [h["kind"] for h in ticket["history"]] == ["CREATED"]


LOOKALIKE_EVIDENCE = [
    EvidenceItem(id="E1", source="scorer:weight", fact="WEIGHT_MISMATCH measured_kg=1.98 "
                 "expected_kg=6.08 ratio=0.326 implied_eaches=3.3"),
    EvidenceItem(id="E2", source="lookalike_skus",
                 fact="Look-alike of SKU-5: SKU-6 (description similarity 0.6, GTIN 2 digit(s) "
                      "apart)"),
    EvidenceItem(id="E3", source="lookalike_skus",
                 fact="Measured weight 1.98 kg for 10 EA fits look-alike SKU-6 within 0%; it is "
                      "-67.4% off SKU-5's own"),
    EvidenceItem(id="E4", source="item_master",
                 fact="Item master of SKU-5: case quantity 10, unit cost 11.52"),
    EvidenceItem(id="E5", source="user_activity",
                 fact="User OP9: 7 negative adjustments writing off 11 EA (peer median 0)"),
]


def seed_reasoned(store: Store) -> None:
    """A mis-scan ticket with runner-up causes and money, and an INVESTIGATE without a user."""
    with Session(store.engine) as s:
        save_ticket(s, ticket=make_ticket(
            5, root_cause="MIS_SCAN", confidence=0.94, evidence=LOOKALIKE_EVIDENCE,
            explanation="A scan weighed 1.98 kg where 6.08 kg was expected [E1]; it fits SKU-6 "
                        "[E3].", action=adjust("SKU-5", "P-5", 10), value_at_risk=115.2,
            alternatives=[{"root_cause": "UOM_MASTER_DATA", "probability": 0.05},
                          {"root_cause": "SLOTTING", "probability": 0.01}]), unit_cost=11.52)
        save_ticket(s, ticket=make_ticket(6, sku="SKU-5", location="P-9", root_cause="SHRINKAGE",
                                          action=Action(type="INVESTIGATE",
                                                        params={"user_id": "OP9"})))
        save_ticket(s, ticket=make_ticket(7, action=Action(type="INVESTIGATE",
                                                           params={"location": "P-7"})))


def test_what_else_could_it_be_gives_runner_ups_and_the_check(
        offline: tuple[TestClient, dict], store: Store) -> None:
    client, users = offline
    seed_reasoned(store)
    text, done = reply(ask(client, users["viewer1"], "what else could it be?", ticket="TK5"))
    assert done["kind"] == "alternatives"
    assert "mis-scan first at 94%" in text
    assert "Wrong master data (unit of measure) (UOM_MASTER_DATA), 5.0%" in text
    assert "weigh one case and count its eaches" in text and "SLOTTING), 1.0%" in text
    assert done["cited"] == ["E1", "E3"]
    text, done = reply(ask(client, users["viewer1"], "what else could it be?"))
    assert "records no runner-up causes" in text


def test_money_lookalike_and_history_questions(offline: tuple[TestClient, dict],
                                               store: Store) -> None:
    client, users = offline
    seed_reasoned(store)
    text, done = reply(ask(client, users["sup1"], "how much money is at stake?", ticket="TK5"))
    assert done["kind"] == "money" and text.startswith("Value at risk: $115.20")
    assert "changes the stock by 10 eaches, $115.20 at cost, and needs a supervisor" in text
    assert "E4" in done["cited"]
    text, done = reply(ask(client, users["sup1"], "is it a look-alike SKU?", ticket="TK5"))
    assert done["kind"] == "lookalike" and text.startswith("Yes, the evidence points")
    assert "[E3] Measured weight 1.98 kg for 10 EA fits look-alike SKU-6" in text
    text, done = reply(ask(client, users["sup1"], "is it a look-alike SKU?"))
    assert text.startswith("No: the evidence gathered for this ticket names no look-alike")
    text, done = reply(ask(client, users["sup1"], "what did this user do before?", ticket="TK5"))
    assert done["kind"] == "similar" and "TK6" in done["cited"] and "E5" in done["cited"]
    assert "What OP9 did, from the activity log" in text


def test_what_happens_if_i_approve_an_investigation_without_a_user(
        offline: tuple[TestClient, dict], store: Store) -> None:
    client, users = offline
    seed_reasoned(store)
    answer = ask(client, users["sup1"], "What happens if I approve?", ticket="TK7")
    assert answer.status_code == 200
    text, done = reply(answer)
    assert "It opens an investigation location P-7; nothing in the stock records changes" in text


def test_unanswerable_question_says_so(offline: tuple[TestClient, dict]) -> None:
    client, users = offline
    text, done = reply(ask(client, users["viewer1"], "What will the weather be tomorrow?"))
    assert done["kind"] == "unknown" and text.startswith("I can't answer that")


def test_history_is_kept_per_ticket(offline: tuple[TestClient, dict]) -> None:
    client, users = offline
    ask(client, users["viewer1"], "why?")
    ask(client, users["sup1"], "approve it")
    ask(client, users["sup1"], "why?", ticket="TK3")
    history = client.get("/v1/tickets/TK1/chat", headers=users["viewer1"]).json()
    assert [(m["role"], m["author"], m["kind"]) for m in history] == [
        ("user", "viewer1", ""), ("assistant", "offline", "why"),
        ("user", "sup1", ""), ("assistant", "offline", "refused")]
    assert len(client.get("/v1/tickets/TK3/chat", headers=users["viewer1"]).json()) == 2


@pytest.mark.parametrize(("body", "status"), [
    ({"message": ""}, 422), ({"message": "x" * 2001}, 422), ({}, 422), ({"message": 5}, 422),
])
def test_bad_chat_input(offline: tuple[TestClient, dict], body: dict, status: int) -> None:
    client, users = offline
    answer = client.post("/v1/tickets/TK1/chat", json=body, headers=users["viewer1"])
    assert answer.status_code == status and "message" in answer.json()["detail"]


def test_unknown_ticket_and_no_key(offline: tuple[TestClient, dict]) -> None:
    client, users = offline
    assert ask(client, users["viewer1"], "why?", ticket="NOPE").status_code == 404
    assert client.get("/v1/tickets/NOPE/chat", headers=users["viewer1"]).status_code == 404
    assert client.post("/v1/tickets/TK1/chat", json={"message": "why?"}).status_code == 401


@pytest.fixture
def llm_client(store: Store, monkeypatch: pytest.MonkeyPatch
               ) -> Iterator[tuple[TestClient, dict, respx.MockRouter]]:
    monkeypatch.setenv("TALLY_LLM_BASE_URL", BASE)
    monkeypatch.setenv("TALLY_LLM_MODEL", "gpt-4o-mini")
    get_settings.cache_clear()
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=False) as router:
        router.route(host="testserver").pass_through()
        with TestClient(create_app(get_settings(), store=store)) as c:
            yield c, seed(store), router


def fixture_response(name: str) -> httpx.Response:
    return httpx.Response(200, json=json.loads((FIXTURES / f"{name}.json").read_text()))


def test_model_converses_with_read_only_tools(
    llm_client: tuple[TestClient, dict, respx.MockRouter]
) -> None:
    client, users, router = llm_client
    route = router.post("/chat/completions", name="chat").mock(
        side_effect=[fixture_response("chat_tool_call"), fixture_response("chat_answer")])
    text, done = reply(ask(client, users["sup1"], "What would approving do?"))
    assert route.call_count == 2
    assert text.startswith("Approving opens an investigation") and done["cited"] == ["E1", "E2"]
    assert done["model"] == "gpt-4o-mini" and done["kind"] == "conversation"
    first = json.loads(route.calls[0].request.content)
    assert {t["function"]["name"] for t in first["tools"]} == {
        "ticket_evidence", "similar_tickets", "alternative_causes", "ticket_history",
        "approval_requirements"}
    system = first["messages"][0]["content"]
    assert "[E2] balance of SKU-1 at P-1 fell from 10 to 4" in system
    assert "You are read-only" in system
    second = json.loads(route.calls[1].request.content)
    tool_turn = second["messages"][-1]
    assert tool_turn["role"] == "tool" and tool_turn["tool_call_id"] == "call_Zk81pQe4sT0a"
    tool_data = json.loads(tool_turn["content"])
    assert tool_data["status"] == "ok" and tool_data["data"]["required_role"] == "supervisor"
    # the next question carries the conversation so far
    router.post("/chat/completions", name="chat").mock(
        return_value=fixture_response("chat_answer"))
    ask(client, users["sup1"], "and who must approve?")
    third = json.loads(route.calls[-1].request.content)["messages"]
    assert [m["role"] for m in third[1:]] == ["user", "assistant", "user"]


def test_write_request_never_reaches_the_model(
    llm_client: tuple[TestClient, dict, respx.MockRouter]
) -> None:
    client, users, router = llm_client
    route = router.post("/chat/completions", name="chat").mock(
        return_value=fixture_response("chat_answer"))
    text, done = reply(ask(client, users["sup1"], "approve it now"))
    assert done["kind"] == "refused" and route.call_count == 0


def test_model_failure_falls_back_to_offline_and_says_so(
    llm_client: tuple[TestClient, dict, respx.MockRouter]
) -> None:
    client, users, router = llm_client
    router.post("/chat/completions", name="chat").mock(
        return_value=httpx.Response(500, json={"error": {"message": "overloaded"}}))
    text, done = reply(ask(client, users["viewer1"], "why was it flagged?"))
    assert done["kind"] == "why" and done["cited"] == ["E1", "E2"]
    assert done["model"].startswith("offline (model unavailable: InternalServerError")


def test_tool_call_written_as_text_is_asked_again_naming_the_tool(
    llm_client: tuple[TestClient, dict, respx.MockRouter]
) -> None:
    client, users, router = llm_client
    # the first two are Qwen2.5-Coder-1.5B's answers through llama-cpp-python: with "auto"
    # it writes the call as fenced JSON; named, it calls the tool
    route = router.post("/chat/completions", name="chat").mock(side_effect=[
        fixture_response("chat_tool_call_as_text_qwen"),
        fixture_response("chat_forced_tool_call_qwen"), fixture_response("chat_answer")])
    text, done = reply(ask(client, users["sup1"], "What would approving do?"))
    sent = [json.loads(c.request.content) for c in route.calls]
    assert [b["tool_choice"] for b in sent] == [
        "auto", {"type": "function", "function": {"name": "similar_tickets"}}, "auto"]
    tool_turn = sent[2]["messages"][-1]
    assert tool_turn["role"] == "tool" and json.loads(tool_turn["content"])["status"] == "ok"
    assert text.startswith("Approving opens an investigation") and done["model"] == "gpt-4o-mini"
    assert '"name"' not in text


@pytest.mark.parametrize(("answer", "why"), [
    ("The balance fell from 10 to 4 [E2], so 17 EA are missing.", "number 17 is not in the"),
    ("Three negative adjustments [E7] point at shrinkage.", "cites E7, which does not exist"),
    ('```json\n{"answer": "shrinkage", "cited": ["E1"]}\n```', "JSON or a tool call"),
])
def test_ungrounded_or_non_prose_model_answer_is_replaced_by_the_offline_one(
    llm_client: tuple[TestClient, dict, respx.MockRouter], answer: str, why: str
) -> None:
    client, users, router = llm_client
    body = json.loads((FIXTURES / "chat_answer.json").read_text())
    body["choices"][0]["message"]["content"] = answer
    router.post("/chat/completions", name="chat").mock(return_value=httpx.Response(200, json=body))
    text, done = reply(ask(client, users["viewer1"], "why was it flagged?"))
    assert done["kind"] == "why" and done["cited"] == ["E1", "E2"]  # the offline answer
    assert done["model"].startswith("offline (model answer not used: ") and why in done["model"]
    assert answer not in text
