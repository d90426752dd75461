"""Run the chat eval (``evals/chat/questions.jsonl``) on real tickets.

``python -m api.chat_eval``: a small generated warehouse is scored and triaged by the
offline pipeline, its tickets are
stored in a throw-away service database, every question that applies to a ticket's root
cause is asked through the offline chat, and :mod:`evals.chat_eval` scores each answer for
answering the question asked and for grounding. Prints answered and grounded shares per
root cause and the failing answers; exits 1 when any answer fails.

``--llm`` asks the configured model instead (``TALLY_LLM_*``, through
:class:`api.chat.llm.LlmChat`, fallbacks included), on a subset (``--per-cause`` tickets of
each root cause, the first ``--tickets``, ``--expect`` question kinds), and also prints each
answer's model calls, tokens, seconds and any fallback. Not in CI: it needs a model server.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel

from api.approvals import ApprovalPolicy
from api.chat.context import ChatContext, build_context
from api.chat.offline import ChatAnswer, answer_offline
from api.db import SERVICE_TABLES
from api.tickets import get_ticket, save_ticket
from evals.chat_eval import ChatScore, load_questions, score_answer, summarize
from warehouse.contract import Ticket
from warehouse.settings import get_settings

POLICY = ApprovalPolicy(supervisor_adjust_value=500.0, dual_approval_value=5000.0)
"""The default approval limits (TALLY_SUPERVISOR_ADJUST_VALUE, TALLY_DUAL_APPROVAL_VALUE)."""


def triaged_tickets(seed: int = 7, days: int = 7, skus: int = 150
                    ) -> tuple[list[Ticket], dict[str, float | None]]:
    """Tickets of a generated warehouse (offline triage), and the unit cost of each SKU."""
    from agents.batch import score_and_triage
    from sim.generator import GeneratorConfig, generate

    data = generate(GeneratorConfig(seed=seed, days=days, skus=skus), progress=False)
    offline = get_settings().model_copy(update={"llm_base_url": None, "llm_model": None})
    batch = score_and_triage(data, offline, progress=False)  # the chat is judged, not triage
    costs = {str(r["sku"]): (float(r["unit_cost"]) if r.get("unit_cost") == r.get("unit_cost")
                             and r.get("unit_cost") is not None else None)
             for r in data.items.to_dict("records")}
    return batch.tickets, costs


Answerer = Callable[[str, ChatContext], ChatAnswer]


def run_chat_eval(tickets: list[Ticket], costs: dict[str, float | None], *,
                  answer: Answerer = answer_offline, expect: set[str] | None = None
                  ) -> list[ChatScore]:
    """Ask every applicable question about every ticket; one score per answer.

    Args:
        tickets: the tickets asked about.
        costs: unit cost per SKU.
        answer: the chat that answers (the offline one by default).
        expect: ask only the questions of these kinds (None: all).
    """
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    SQLModel.metadata.create_all(engine, tables=SERVICE_TABLES)
    questions = load_questions()
    scores = []
    with Session(engine) as session:
        for ticket in tickets:
            save_ticket(session, ticket=ticket, unit_cost=costs.get(ticket.sku or ""))
        for ticket in tickets:
            record = get_ticket(session, ticket_id=ticket.ticket_id)
            assert record is not None
            ctx = build_context(session, record=record, policy=POLICY)
            facts: dict[str, Any] = {**ticket.model_dump(mode="json"),
                                     "unit_cost": record.unit_cost,
                                     "limits": [POLICY.supervisor_adjust_value,
                                                POLICY.dual_approval_value]}
            for q in questions:
                if not q.applies(ticket.root_cause.value) or (expect and q.expect not in expect):
                    continue
                reply = answer(q.text_for(facts), ctx)
                scores.append(score_answer(q, facts, text=reply.text, kind=reply.kind,
                                           cited=reply.cited))
    return scores


def per_cause(tickets: list[Ticket], n: int) -> list[Ticket]:
    """The first ``n`` tickets of each root cause."""
    seen: dict[str, int] = {}
    out = []
    for t in tickets:
        if seen.get(t.root_cause.value, 0) < n:
            seen[t.root_cause.value] = seen.get(t.root_cause.value, 0) + 1
            out.append(t)
    return out


@dataclass
class ModelMeter:
    """Model calls and tokens seen on the wire, and each answer's cost."""

    calls: int = 0
    tokens: int = 0
    answers: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)

    def on_response(self, response: httpx.Response) -> None:
        """Count one call and its usage block, keep its body (an httpx response hook)."""
        self.calls += 1
        response.read()
        body = response.json() if response.content else None
        self.responses.append({"status": response.status_code, "body": body})
        if response.is_success and isinstance(body, dict):
            self.tokens += int((body.get("usage") or {}).get("total_tokens") or 0)

    def metered(self, chat: Answerer) -> Answerer:
        """``chat`` with each answer's calls, tokens, seconds and fallback recorded."""
        def answer(question: str, ctx: ChatContext) -> ChatAnswer:
            calls, tokens, start = self.calls, self.tokens, time.perf_counter()
            reply = chat(question, ctx)
            self.answers.append({
                "ticket": ctx.ticket.ticket_id, "question": question, "calls": self.calls - calls,
                "tokens": self.tokens - tokens, "seconds": time.perf_counter() - start,
                "model": reply.model, "text": reply.text})
            return reply
        return answer


def model_chat(meter: ModelMeter) -> Answerer:
    """The configured LLM chat (``TALLY_LLM_*``), metered by ``meter``."""
    from agents.reasoners.client import make_client
    from api.chat.llm import LlmChat

    settings = get_settings()
    if not (settings.llm_base_url and settings.llm_model):
        raise SystemExit("--llm needs TALLY_LLM_BASE_URL and TALLY_LLM_MODEL")
    http = httpx.Client(timeout=settings.llm_timeout_s,
                        event_hooks={"response": [meter.on_response]})
    chat = LlmChat(make_client(settings, http), settings.llm_model,
                   max_calls=settings.llm_max_calls, max_tokens=settings.llm_completion_tokens)
    return meter.metered(lambda question, ctx: chat.answer(question, ctx, []))


def main(argv: list[str] | None = None) -> int:
    """Print the chat eval's table; 1 when any answer is off-question or ungrounded."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--skus", type=int, default=150)
    parser.add_argument("--llm", action="store_true",
                        help="ask the configured model (TALLY_LLM_*) instead of the offline chat")
    parser.add_argument("--per-cause", type=int, default=None,
                        help="ask about the first N tickets of each root cause only")
    parser.add_argument("--tickets", type=int, default=None,
                        help="ask about the first N of those tickets only")
    parser.add_argument("--expect", default=None,
                        help="comma-separated question kinds to ask (why,alternatives,money,...)")
    parser.add_argument("--save", type=Path, default=None,
                        help="with --llm: write the answers, scores and raw responses here")
    args = parser.parse_args(argv)
    tickets, costs = triaged_tickets(args.seed, args.days, args.skus)
    if args.per_cause:
        tickets = per_cause(tickets, args.per_cause)
    if args.tickets:
        tickets = tickets[:args.tickets]
    meter = ModelMeter()
    scores = run_chat_eval(tickets, costs, answer=model_chat(meter) if args.llm else
                           answer_offline,
                           expect=set(args.expect.split(",")) if args.expect else None)
    table = Table(title=f"chat eval: {len(tickets)} tickets, {len(scores)} answers")
    for column in ("root cause", "questions", "answered", "grounded"):
        table.add_column(column)
    for cause, row in summarize(scores).items():
        table.add_row(cause, f"{row['questions']:.0f}", f"{row['answered']:.0%}",
                      f"{row['grounded']:.0%}")
    console = Console()
    console.print(table)
    for a in meter.answers:
        console.print(f"{a['ticket']} {a['question']!r}: {a['calls']} calls, {a['tokens']} "
                      f"tokens, {a['seconds']:.0f} s, {a['model']}\n  {a['text'][:300]!r}")
    if args.save and args.llm:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps({
            "model": get_settings().llm_model, "answers": meter.answers,
            "scores": [s.model_dump() for s in scores], "responses": meter.responses},
            indent=1) + "\n", encoding="utf-8")
    failed = [s for s in scores if not (s.answered and s.grounded)]
    for s in failed[:20]:
        console.print(f"{s.ticket_id} {s.root_cause} {s.question!r}: {'; '.join(s.problems)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
