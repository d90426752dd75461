"""The chat eval set on real tickets: every applicable question answered, grounded, cited."""

from __future__ import annotations

from api.chat_eval import run_chat_eval, triaged_tickets
from evals.chat_eval import ChatQuestion, load_questions, score_answer, summarize

TICKET = {"ticket_id": "T1", "root_cause": "MIS_SCAN", "confidence": 0.9, "risk_score": 0.5,
          "value_at_risk": 14.72, "unit_cost": 3.68,
          "alternatives": [{"root_cause": "UOM_MASTER_DATA", "probability": 0.06}],
          "evidence": [{"id": "E1", "source": "scorer:weight",
                        "fact": "WEIGHT_MISMATCH measured_kg=5.55 expected_kg=0.78"}],
          "action": {"type": "RECOUNT", "params": {"locations": ["A1"]}}}


def test_the_scorer_catches_off_question_ungrounded_and_uncited_answers() -> None:
    alternatives = ChatQuestion(question="what else could it be?", expect="alternatives",
                                cites=True, mentions=["{runner_up}"])
    good = score_answer(alternatives, TICKET, kind="alternatives", cited=["E1"],
                        text="UOM_MASTER_DATA at 6.0%; the scan weighed 5.55 kg [E1].")
    assert good.answered and good.grounded
    wrong = score_answer(alternatives, TICKET, kind="why", cited=[],
                         text="It weighed 7.5 kg [E9].")
    assert not wrong.answered and not wrong.grounded
    assert wrong.problems == ["answered 'why', asked for 'alternatives'",
                              "does not mention 'UOM_MASTER_DATA'",
                              "number 7.5 is not the ticket's", "cites E9, which does not exist",
                              "cites no evidence"]


def test_a_model_answer_is_judged_on_its_words_and_a_non_answer_fails() -> None:
    alternatives = ChatQuestion(question="how sure are you it is not a receiving error?",
                                expect="alternatives")
    real = ("I apologize, but I cannot provide you with any additional information or advice "
            "without more details. Could you please provide me with the full ticket and "
            "evidence to help me understand your question better?")  # Qwen2.5-Coder-1.5B
    declined = score_answer(alternatives, TICKET, kind="conversation", cited=[], text=real)
    assert not declined.answered and declined.grounded
    assert declined.problems == ["the model says it cannot answer"]
    fine = score_answer(alternatives, TICKET, kind="conversation", cited=["E1"],
                        text="Fairly sure: UOM_MASTER_DATA is the runner-up at 6.0% [E1].")
    assert fine.answered and fine.grounded


def test_every_question_of_the_eval_set_is_answered_and_grounded() -> None:
    tickets, costs = triaged_tickets()
    scores = run_chat_eval(tickets, costs)
    asked = {s.expect for s in scores}
    assert asked == {q.expect for q in load_questions()}
    assert len({s.root_cause for s in scores}) == 7  # every ticket kind is asked
    failed = [(s.ticket_id, s.question, s.problems) for s in scores
              if not (s.answered and s.grounded)]
    assert failed == []
    assert summarize(scores)["ALL"] == {"questions": float(len(scores)), "answered": 1.0,
                                         "grounded": 1.0}
