"""Run the chat eval (``evals/chat/questions.jsonl``) on real tickets.

``python -m api.chat_eval``: a small generated warehouse is scored and triaged by the
offline pipeline, its tickets are
stored in a throw-away service database, every question that applies to a ticket's root
cause is asked through the offline chat, and :mod:`evals.chat_eval` scores each answer for
answering the question asked and for grounding. Prints answered and grounded shares per
root cause and the failing answers; exits 1 when any answer fails.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel

from api.approvals import ApprovalPolicy
from api.chat.context import build_context
from api.chat.offline import answer_offline
from api.db import SERVICE_TABLES
from api.tickets import get_ticket, save_ticket
from evals.chat_eval import ChatScore, load_questions, score_answer, summarize
from warehouse.contract import Ticket
from warehouse.settings import get_settings

POLICY = ApprovalPolicy(supervisor_adjust_value=500.0, dual_approval_value=5000.0)
"""The default approval limits (TALLY_SUPERVISOR_ADJUST_VALUE, TALLY_DUAL_APPROVAL_VALUE)."""


def triaged_tickets(seed: int = 7, days: int = 7, skus: int = 150
                    ) -> tuple[list[Ticket], dict[str, float | None]]:
    """Tickets of a generated warehouse, and the unit cost of each SKU."""
    from agents.batch import score_and_triage
    from sim.generator import GeneratorConfig, generate

    data = generate(GeneratorConfig(seed=seed, days=days, skus=skus), progress=False)
    batch = score_and_triage(data, get_settings(), progress=False)
    costs = {str(r["sku"]): (float(r["unit_cost"]) if r.get("unit_cost") == r.get("unit_cost")
                             and r.get("unit_cost") is not None else None)
             for r in data.items.to_dict("records")}
    return batch.tickets, costs


def run_chat_eval(tickets: list[Ticket], costs: dict[str, float | None]) -> list[ChatScore]:
    """Ask every applicable question about every ticket; one score per answer."""
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
                if not q.applies(ticket.root_cause.value):
                    continue
                answer = answer_offline(q.text_for(facts), ctx)
                scores.append(score_answer(q, facts, text=answer.text, kind=answer.kind,
                                           cited=answer.cited))
    return scores


def main(argv: list[str] | None = None) -> int:
    """Print the chat eval's table; 1 when any answer is off-question or ungrounded."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--skus", type=int, default=150)
    args = parser.parse_args(argv)
    tickets, costs = triaged_tickets(args.seed, args.days, args.skus)
    scores = run_chat_eval(tickets, costs)
    table = Table(title=f"chat eval: {len(tickets)} tickets, {len(scores)} answers")
    for column in ("root cause", "questions", "answered", "grounded"):
        table.add_column(column)
    for cause, row in summarize(scores).items():
        table.add_row(cause, f"{row['questions']:.0f}", f"{row['answered']:.0%}",
                      f"{row['grounded']:.0%}")
    console = Console()
    console.print(table)
    failed = [s for s in scores if not (s.answered and s.grounded)]
    for s in failed[:20]:
        console.print(f"{s.ticket_id} {s.root_cause} {s.question!r}: {'; '.join(s.problems)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
