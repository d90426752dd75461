"""What the counts of an approved plan found: each task's count against the plan's score.

A task is counted once a CYCLE_COUNT of its location (of its SKU, when the line names one)
is in the store after the plan's approval, however it arrived (event API, queue, file).
The count is wrong when it differs from the system: from ``expected_qty``, or on a blind
count from the balance the ledger held at that moment. Set against the scores the plan
gave, these are the plan's calibration in the field: predicted vs found wrong, the Brier
score, and the money the counts found.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import Engine, bindparam, text

from api.count_plans import CountPlanRecord, CountTaskRecord


class TaskOutcome(BaseModel):
    """One task of the plan and what its count found."""

    rank: int
    location: str
    sku: str | None
    score: float = Field(description="the plan's probability that a record here was wrong")
    counted_at: str | None = None
    variance: float | None = Field(default=None, description="counted - system, eaches")
    wrong: bool | None = Field(default=None, description="None until the count is in")


class PlanOutcomes(BaseModel):
    """An approved plan's counts against its scores."""

    plan_id: str
    tasks: int
    counted: int
    predicted_wrong: float | None = Field(description="mean score of the counted tasks")
    found_wrong: float | None = Field(description="share of the counted tasks found wrong")
    brier: float | None = None
    money_found: float = Field(description="|variance| x unit cost over the counted tasks")
    outcomes: list[TaskOutcome]


def plan_outcomes(engine: Engine, record: CountPlanRecord,
                  tasks: list[CountTaskRecord]) -> PlanOutcomes:
    """The counts that came back for ``record``'s tasks since its approval."""
    scores = {line["rank"]: float(line["score"]) for line in json.loads(record.lines)}
    counts = _counts_since(engine, [t.location for t in tasks], record.approved_at)
    outcomes, money = [], 0.0
    for task in tasks:
        mine = counts[counts["location"] == task.location]
        if task.sku:
            mine = mine[mine["sku"] == task.sku]
        out = TaskOutcome(rank=task.rank, location=task.location, sku=task.sku,
                          score=scores.get(task.rank, 0.0))
        if len(mine):
            first = mine[mine["ts"] == mine["ts"].min()]
            out.counted_at = pd.Timestamp(first["ts"].iloc[0]).isoformat()
            out.variance = float(first["variance"].abs().max())
            out.wrong = bool((first["variance"].abs() > 0).any())
            money += float((first["variance"].abs() * first["unit_cost"].fillna(0.0)).sum())
        outcomes.append(out)
    done = [o for o in outcomes if o.wrong is not None]
    p = np.array([o.score for o in done])
    y = np.array([float(bool(o.wrong)) for o in done])
    return PlanOutcomes(
        plan_id=record.plan_id, tasks=len(outcomes), counted=len(done),
        predicted_wrong=float(p.mean()) if len(done) else None,
        found_wrong=float(y.mean()) if len(done) else None,
        brier=float(np.mean((p - y) ** 2)) if len(done) else None,
        money_found=round(money, 2), outcomes=outcomes)


def _counts_since(engine: Engine, locations: list[str], since: str) -> pd.DataFrame:
    """Counts at ``locations`` after ``since``, with their variance against the system."""
    query = text(
        "SELECT t.ts, t.sku, t.location, t.qty, t.expected_qty, h.balance_after, i.unit_cost "
        "FROM transactions t "
        "LEFT JOIN balance_history h ON h.seq = t.seq AND h.location = t.location "
        "AND h.sku = t.sku "
        "LEFT JOIN items i ON i.site = t.site AND i.sku = t.sku "
        "WHERE t.type = 'CYCLE_COUNT' AND t.location IN :locations"
    ).bindparams(bindparam("locations", expanding=True))
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(query, {"locations": locations or [""]}).all(),
                            columns=["ts", "sku", "location", "qty", "expected_qty",
                                     "balance_after", "unit_cost"])
    rows["ts"] = pd.to_datetime(rows["ts"], utc=True, format="ISO8601")
    rows = rows[rows["ts"] >= pd.Timestamp(since)]
    system = pd.to_numeric(rows["expected_qty"], errors="coerce").fillna(
        pd.to_numeric(rows["balance_after"], errors="coerce"))
    rows = rows.assign(variance=pd.to_numeric(rows["qty"]) - system,
                       unit_cost=pd.to_numeric(rows["unit_cost"], errors="coerce"))
    return rows.dropna(subset=["variance"])
