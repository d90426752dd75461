"""Queue KPIs from the ticket table: volume, aging, time to decision, precision by cause, money.

Money is the tickets' value at risk: open (still to act on) and corrected (written back to
the WMS), in all, by root cause and by the week the incident happened.

Precision comes from the supervisors' decisions: a ticket that was approved (as proposed or
after an edit) counts as a correct call, a rejected one as a false alarm. ``strict``
precision counts only approvals of the action as proposed.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from api.tickets import OPEN_STATUSES, TicketRecord, age_seconds
from warehouse.contract import TicketStatus

AGE_BUCKETS: list[tuple[str, float]] = [
    ("<1h", 3600.0), ("1-4h", 4 * 3600.0), ("4-24h", 86400.0), ("1-3d", 3 * 86400.0),
    (">3d", float("inf")),
]
APPROVED = frozenset({TicketStatus.APPROVED.value, TicketStatus.WRITTEN_BACK.value,
                      TicketStatus.WRITE_BACK_FAILED.value})


class DecisionTimes(BaseModel):
    """Seconds from ticket creation to its decision."""

    count: int
    median_s: float | None
    p90_s: float | None
    mean_s: float | None


class CausePrecision(BaseModel):
    """How often supervisors agreed with the tickets of one root cause."""

    approved: int
    edited: int = Field(description="approved after the action was edited")
    rejected: int
    precision: float | None = Field(description="approved / decided")
    strict_precision: float | None = Field(description="approved as proposed / decided")


class Money(BaseModel):
    """Value at risk (contract section 5) still open, and corrected by a landed write-back."""

    open: float = 0.0
    corrected: float = 0.0


class Kpis(BaseModel):
    """The queue at a glance."""

    tickets: int
    by_root_cause: dict[str, int]
    by_severity: dict[str, int]
    by_status: dict[str, int]
    by_cause_and_severity: dict[str, dict[str, int]]
    open: int
    aging: dict[str, int] = Field(description="open tickets by age bucket")
    oldest_open_s: float | None
    time_to_decision: DecisionTimes
    precision_by_cause: dict[str, CausePrecision]
    money: Money = Field(default_factory=Money, description="open and corrected, in all")
    money_by_cause: dict[str, Money] = Field(default_factory=dict)
    money_by_week: dict[str, Money] = Field(
        default_factory=dict, description="by the ISO week the incident happened (event date)")


def event_day(created_at: str, extra: dict[str, object] | None) -> str:
    """The UTC day the ticket's incident happened (its first transaction), else its creation."""
    first = (extra or {}).get("first_ts")
    return str(first)[:10] if isinstance(first, str) and len(first) >= 10 else created_at[:10]


def iso_week(day: str) -> str:
    """``2025-03-03`` -> ``2025-W10``."""
    year, week, _ = datetime.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def site_scope(sites: list[str] | None) -> list[Any]:
    """The condition that keeps ``sites``' tickets (none: every site's)."""
    return [] if sites is None else [col(TicketRecord.site).in_(sites)]


def money_kpis(session: Session, sites: list[str] | None = None
               ) -> tuple[Money, dict[str, Money], dict[str, Money]]:
    """Open and corrected value at risk, in all, by root cause and by event week."""
    t = TicketRecord
    total = Money()
    by_cause: dict[str, Money] = {}
    by_week: dict[str, Money] = {}
    open_values = {s.value for s in OPEN_STATUSES}
    for cause, status, value, created_at, extra in session.execute(sa_select(
            col(t.root_cause), col(t.status), col(t.value_at_risk), col(t.created_at),
            col(t.extra)).where(*site_scope(sites))):
        if status in open_values:
            field = "open"
        elif status == TicketStatus.WRITTEN_BACK.value:
            field = "corrected"
        else:
            continue
        week = iso_week(event_day(created_at, extra))
        buckets = (total, by_cause.setdefault(cause, Money()), by_week.setdefault(week, Money()))
        for money in buckets:
            setattr(money, field, round(getattr(money, field) + float(value or 0.0), 2))
    return total, dict(sorted(by_cause.items())), dict(sorted(by_week.items()))


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def compute_kpis(session: Session, *, now: datetime | None = None,
                 sites: list[str] | None = None) -> Kpis:
    """Compute every KPI in a few grouped queries, over ``sites``' tickets (None: all)."""
    now = now or datetime.now(UTC)
    t = TicketRecord
    by_pair: dict[str, dict[str, int]] = {}
    by_status: dict[str, int] = {}
    for cause, severity, status, n in session.exec(
        select(t.root_cause, t.severity, t.status, func.count()).where(*site_scope(sites))
        .group_by(t.root_cause, t.severity, t.status)
    ):
        by_pair.setdefault(cause, {}).setdefault(severity, 0)
        by_pair[cause][severity] += n
        by_status[status] = by_status.get(status, 0) + n
    by_severity: dict[str, int] = {}
    for row in by_pair.values():
        for severity, n in row.items():
            by_severity[severity] = by_severity.get(severity, 0) + n
    opened = session.exec(select(t.created_at).where(
        col(t.status).in_([s.value for s in OPEN_STATUSES]), *site_scope(sites))).all()
    ages = [age_seconds(c, now) for c in opened]
    aging = dict.fromkeys((name for name, _ in AGE_BUCKETS), 0)
    for age in ages:
        aging[next(name for name, limit in AGE_BUCKETS if age < limit)] += 1
    decided = session.execute(
        sa_select(col(t.root_cause), col(t.status), col(t.edited_by), col(t.created_at),
                  col(t.decided_at)).where(col(t.decided_at).is_not(None),
                                           *site_scope(sites))).all()
    waits = sorted((datetime.fromisoformat(d) - datetime.fromisoformat(c)).total_seconds()
                   for _, _, _, c, d in decided)
    tallies: dict[str, list[int]] = {}
    for cause, status, edited_by, _, _ in decided:
        approved, edited, rejected = tallies.setdefault(cause, [0, 0, 0])
        if status in APPROVED:
            tallies[cause] = [approved + 1, edited + (edited_by is not None), rejected]
        elif status == TicketStatus.REJECTED.value:
            tallies[cause] = [approved, edited, rejected + 1]
    money, money_by_cause, money_by_week = money_kpis(session, sites)
    return Kpis(
        money=money, money_by_cause=money_by_cause, money_by_week=money_by_week,
        tickets=sum(by_status.values()),
        by_root_cause={c: sum(row.values()) for c, row in sorted(by_pair.items())},
        by_severity=dict(sorted(by_severity.items())),
        by_status=dict(sorted(by_status.items())),
        by_cause_and_severity=dict(sorted(by_pair.items())),
        open=len(ages),
        aging=aging,
        oldest_open_s=max(ages) if ages else None,
        time_to_decision=DecisionTimes(
            count=len(waits),
            median_s=statistics.median(waits) if waits else None,
            p90_s=waits[min(len(waits) - 1, int(0.9 * len(waits)))] if waits else None,
            mean_s=statistics.fmean(waits) if waits else None,
        ),
        precision_by_cause={
            cause: CausePrecision(
                approved=a, edited=e, rejected=r, precision=_ratio(a, a + r),
                strict_precision=_ratio(a - e, a + r),
            )
            for cause, (a, e, r) in sorted(tallies.items())
        },
    )
