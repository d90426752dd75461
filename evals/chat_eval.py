"""The chat eval: questions supervisors ask, per ticket kind, and a scorer for the answers.

``evals/chat/questions.jsonl`` holds the questions (one JSON object a line): the text (with
``{cause_words}`` filled from the ticket), the answer it asks for (``expect``: why,
alternatives, money, lookalike, approval, similar, balance, refused), which root causes it
is asked of (``causes``: a list or ``"*"``), whether the answer must cite evidence, and
words it must mention (``{runner_up}``, ``{action_words}`` filled from the ticket).

:func:`score_answer` checks one answer: did it answer the question asked (its kind, and the
words it must mention; a model's ``conversation`` answer has no kind, so its words, its
grounding and whether it declines to answer are judged), and is it grounded (every number
it prints is the ticket's: evidence, confidence, value, runner-up probabilities, action
parameters; every evidence id it cites exists; it cites one when it must). The answers
themselves come from the chat (``python -m api.chat_eval``, and
``tests/api/test_chat_eval.py``), which lives above this layer.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agents.grounding import evidence_numbers, numbers_in
from warehouse.contract import EvidenceItem

QUESTIONS = Path(__file__).parent / "chat" / "questions.jsonl"
SMALL_COUNTS = (0.0, 1.0, 2.0)
"""Numbers any answer may print without a source: how many approvers (one or two), none."""
CAUSE_WORDS = {"MIS_SCAN": "a mis-scan", "UOM_MASTER_DATA": "wrong master data",
               "SLOTTING": "a slotting problem", "RECEIVING_ERROR": "a receiving error",
               "SHRINKAGE": "shrinkage", "SYSTEM_SYNC": "an interface fault",
               "LEGITIMATE": "legitimate activity"}
_CITE = re.compile(r"\[(E\d+)\]")
MODEL_KIND = "conversation"
"""The kind of an answer a chat model wrote (the offline chat's kinds name their answer)."""
_NON_ANSWER = re.compile(r"\b(cannot|can't|can not|unable to)\b.{0,40}\b(answer|provide|help|tell)"
                         r"|\bprovide me with\b|\bmore (details|information)\b", re.IGNORECASE)
"""A model's way of answering nothing (a small model says so when the ticket holds the answer)."""


class ChatQuestion(BaseModel):
    """One question of the eval set."""

    question: str
    expect: str = Field(description="the answer kind the question asks for")
    causes: list[str] | str = "*"
    cites: bool = False
    mentions: list[str] = Field(default_factory=list)

    def applies(self, cause: str) -> bool:
        """Whether the question is asked of tickets with root cause ``cause``."""
        return self.causes == "*" or cause in self.causes

    def text_for(self, ticket: dict[str, Any]) -> str:
        """The question as asked about ``ticket``."""
        return self.question.format(cause_words=CAUSE_WORDS.get(ticket["root_cause"], "it"))


class ChatScore(BaseModel):
    """How one answer did."""

    ticket_id: str
    root_cause: str
    question: str
    expect: str
    kind: str
    answered: bool = Field(description="the kind asked for, with the words it must mention")
    grounded: bool = Field(description="every number and cited id is the ticket's")
    problems: list[str]


def load_questions(path: Path = QUESTIONS) -> list[ChatQuestion]:
    """The eval set."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ChatQuestion.model_validate_json(line) for line in lines if line.strip()]


def ticket_numbers(ticket: dict[str, Any]) -> list[float]:
    """Every number an answer about ``ticket`` may print."""
    evidence = [EvidenceItem.model_validate(e) for e in ticket.get("evidence", [])]
    known = evidence_numbers(evidence) + list(SMALL_COUNTS)
    known += [ticket.get("confidence", 0) * 100, ticket.get("risk_score", 0),
              ticket.get("value_at_risk") or 0.0, ticket.get("unit_cost") or 0.0]
    known += [a["probability"] * 100 for a in ticket.get("alternatives") or []]
    for value in (ticket.get("action") or {}).get("params", {}).values():
        if isinstance(value, int | float):
            known += [float(value), abs(float(value)) * (ticket.get("unit_cost") or 0.0)]
    known += [float(v) for v in ticket.get("limits", [])]
    return known


def _grounded_number(token: str, known: list[float]) -> bool:
    value = float(token)
    places = len(token.split(".")[1]) if "." in token else 0
    return any(abs(abs(k) - abs(value)) <= 1e-9 * max(1.0, abs(k))
               or round(abs(k), places) == abs(value) for k in known)


def mention_words(question: ChatQuestion, ticket: dict[str, Any]) -> list[str]:
    """The words the answer must contain, filled from the ticket."""
    alternatives = ticket.get("alternatives") or []
    fills = {"runner_up": alternatives[0]["root_cause"] if alternatives else "no runner-up",
             "action_words": (ticket.get("action") or {}).get("type", "")}
    return [m.format(**fills) for m in question.mentions]


def score_answer(question: ChatQuestion, ticket: dict[str, Any], *, text: str, kind: str,
                 cited: list[str]) -> ChatScore:
    """Score one chat answer about ``ticket``.

    ``ticket`` is a contract ticket as a dict, plus ``unit_cost`` and the approval
    ``limits`` where known.
    """
    problems = []
    if kind != question.expect and kind != MODEL_KIND:
        problems.append(f"answered {kind!r}, asked for {question.expect!r}")
    if kind == MODEL_KIND and question.expect != "refused" and _NON_ANSWER.search(text):
        problems.append("the model says it cannot answer")
    lowered = text.lower()
    problems += [f"does not mention {w!r}" for w in mention_words(question, ticket)
                 if w.lower() not in lowered]
    answered = not problems
    ids = {e.get("id") for e in ticket.get("evidence", [])}
    known = ticket_numbers(ticket)
    ungrounded = [f"number {n} is not the ticket's" for n in numbers_in(text)
                  if not _grounded_number(n, known)]
    ungrounded += [f"cites {c}, which does not exist" for c in
                   dict.fromkeys([*_CITE.findall(text), *(c for c in cited if c.startswith("E"))])
                   if c not in ids]
    if question.cites and not any(c in ids for c in cited):
        ungrounded.append("cites no evidence")
    return ChatScore(ticket_id=ticket["ticket_id"], root_cause=ticket["root_cause"],
                     question=question.text_for(ticket), expect=question.expect, kind=kind,
                     answered=answered, grounded=not ungrounded,
                     problems=problems + ungrounded)


def summarize(scores: list[ChatScore]) -> dict[str, dict[str, float]]:
    """Share answered and grounded, per root cause and overall (``ALL``)."""
    groups: dict[str, list[ChatScore]] = defaultdict(list)
    for s in scores:
        groups[s.root_cause].append(s)
        groups["ALL"].append(s)
    return {cause: {"questions": float(len(items)),
                    "answered": sum(s.answered for s in items) / len(items),
                    "grounded": sum(s.grounded for s in items) / len(items)}
            for cause, items in sorted(groups.items())}


def load_tickets(path: Path) -> list[dict[str, Any]]:
    """Tickets from a ``tickets.jsonl``."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
