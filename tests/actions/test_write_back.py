"""The one write-back function: only an approval bound to the exact action's digest writes."""

from __future__ import annotations

import pytest

from actions.decision import Decision
from actions.wms_recording import RecordingWms
from actions.write_back import NotApproved, write_back
from warehouse.canonical import action_digest, write_back_key
from warehouse.contract import Action

ACTION = Action(type="ADJUST_INVENTORY", params={"sku": "S1", "location": "P-1", "qty_delta": -2,
                                                 "reason_code": "COUNT_CORRECTION"})
OTHER = Action(type="ADJUST_INVENTORY", params={"sku": "S1", "location": "P-1", "qty_delta": -200,
                                                "reason_code": "COUNT_CORRECTION"})
DIGEST = action_digest(ACTION)


@pytest.mark.parametrize(("decision", "words"), [
    (None, "no decision"),
    (Decision(decision="reject", approver="sup1", action_digest=DIGEST), "not an approval"),
    (Decision(decision="approve", approver="sup1"), "no action digest"),
    (Decision(decision="approve", approver="sup1", action_digest=action_digest(OTHER)),
     "not for"),
    (Decision(decision="edit", approver="sup1", action=OTHER, action_digest=DIGEST),
     "not the action to be written"),
    (Decision(decision="approve", approver="sup1", action_digest=DIGEST, ticket_id="TK9"),
     "ticket TK9"),
], ids=["none", "reject", "unbound", "other-digest", "other-action", "other-ticket"])
def test_refuses_anything_but_a_digest_bound_approval(decision: Decision | None,
                                                      words: str) -> None:
    wms = RecordingWms()
    with pytest.raises(NotApproved, match=words):
        write_back(ticket_id="TK1", action=ACTION, decision=decision, wms=wms)
    assert wms.applied == {}


def test_refuses_invalid_params_even_when_approved() -> None:
    bad = Action(type="ADJUST_INVENTORY", params={"sku": "S1", "qty_delta": -2})
    wms = RecordingWms()
    with pytest.raises(NotApproved, match="location"):
        write_back(ticket_id="TK1", action=bad, wms=wms, decision=Decision(
            decision="approve", approver="sup1", action_digest=action_digest(bad)))
    assert wms.applied == {}


def test_an_approval_writes_once_under_the_ticket_key() -> None:
    wms = RecordingWms()
    approval = Decision(decision="approve", approver="sup1", action_digest=DIGEST,
                        ticket_id="TK1", approvers=["sup1"])
    first = write_back(ticket_id="TK1", action=ACTION, decision=approval, wms=wms)
    again = write_back(ticket_id="TK1", action=ACTION, decision=approval, wms=wms)
    assert (first.status, again.status) == ("APPLIED", "ALREADY_APPLIED")
    assert list(wms.applied) == [write_back_key("TK1", ACTION)]


def test_an_adapter_failure_is_a_failed_answer_and_no_wms_is_one_too() -> None:
    class Broken:
        def apply(self, action: Action, *, idempotency_key: str) -> object:
            raise TimeoutError("read timed out")

    approval = Decision(decision="approve", approver="sup1", action_digest=DIGEST)
    failed = write_back(ticket_id="TK1", action=ACTION, decision=approval, wms=Broken())
    assert failed.status == "FAILED" and "TimeoutError" in failed.detail
    none = write_back(ticket_id="TK1", action=ACTION, decision=approval, wms=None)
    assert none.status == "FAILED" and "TALLY_WMS_URL" in none.detail
