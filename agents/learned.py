"""What the site's verdicts change in a run's tickets (learning itself: :mod:`scoring.learning`).

- An incident the learned rules call normal practice (or that a verdict already resolved as
  a false alarm) becomes a dismissed ticket: LEGITIMATE, NO_ACTION, INFO, with the rule it
  matched named in its summary and explanation and the original verdict kept in
  ``learned``. Nothing is deleted, so every suppression can be seen and undone.
- Guard: a ticket about a high-value item stays open where only rules learned without its
  value class call its pattern normal, and so does one involving a user whose own verdicts
  made the rule; the run lists them (``held``). Rules learned from
  verdicts on high-value items raise their threshold, never silence them outright.
- Guard: learning never silences a whole root cause. When the rules would dismiss every
  ticket of a cause that has at least ``min_verdicts`` tickets in the run, its highest-risk
  ticket stays open and the run says so.
- Calibration: the share of verdicts that confirmed the reasoner's root cause, per cause,
  pulls each ticket's confidence toward it (``calibration_strength`` pseudo-verdicts keep
  the reasoner's own).
- Actions: where the site confirmed a cause and nearly always took one action for it, the
  ticket carries ``site_usual_action`` for the approver to see. The proposed action is the
  policy's; learning never writes or approves anything.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from scoring.learning import Learned, Learner
from scoring.types import Incident
from warehouse.contract import (
    Action,
    ActionType,
    Resolution,
    RootCause,
    Severity,
    Ticket,
    TicketStatus,
)


class ApplyParams(BaseModel):
    """How verdicts change tickets beyond the pattern rules."""

    calibration_strength: float = Field(default=5.0, ge=0.0, description="pseudo-verdicts "
                                        "behind the reasoner's own confidence")
    usual_action_share: float = Field(default=0.8, gt=0.5, le=1.0, description="share of a "
                                      "cause's confirmed verdicts one action needs to be the "
                                      "site's usual one")


@dataclass
class LearningOutcome:
    """What learning did to one run: for report.md and the UI."""

    learned: Learned
    suppressed: dict[str, list[str]] = field(default_factory=dict)
    """rule id (or ``resolved``) -> ticket ids it dismissed."""
    guarded: list[str] = field(default_factory=list)
    """Lines saying which suppressions a guardrail held back."""
    held: dict[str, list[str]] = field(default_factory=dict)
    """ticket id -> the rules that call it normal; open, as a guardrail holds it."""
    calibration: dict[str, tuple[int, int]] = field(default_factory=dict)
    """cause -> (verdicts on tickets of that cause, of which confirmed that cause)."""

    def lines(self) -> list[str]:
        """What was learned and what it changed, one line each."""
        out = []
        for rule in self.learned.rules:
            n = len(self.suppressed.get(rule.rule_id, []))
            state = "" if rule.active else " [undone]"
            out.append(f"{rule.describe()}; {n} ticket{'s' * (n != 1)} suppressed "
                       f"(rule {rule.rule_id}){state}")
        resolved = len(self.suppressed.get("resolved", []))
        if resolved:
            out.append(f"{resolved} ticket{'s' * (resolved != 1)} already resolved as false "
                       "alarms by a verdict, dismissed")
        return out


def apply_learning(tickets: Sequence[Ticket], incidents: Sequence[Incident], learner: Learner,
                   resolutions: Sequence[Resolution],
                   params: ApplyParams | None = None) -> tuple[list[Ticket], LearningOutcome]:
    """Tickets as the site's verdicts leave them, and what changed."""
    p = params or ApplyParams()
    learned = learner.learned_
    outcome = LearningOutcome(learned=learned)
    found = learner.suppressions(incidents, resolutions)
    by_id = {t.ticket_id: t for t in tickets}
    by_guard = defaultdict(list)
    for inc_id in [i for i, sup in found.items() if sup.held]:
        hold = found.pop(inc_id)
        if inc_id in by_id and by_id[inc_id].root_cause is not RootCause.LEGITIMATE:
            outcome.held[inc_id] = hold.rule_ids
            for guard in hold.guards:
                by_guard[guard].append(inc_id)
    for guard, ids in sorted(by_guard.items()):
        n = len(ids)
        outcome.guarded.append(f"{n} ticket{'s' * (n != 1)} match learned rules and stay open "
                               f"({', '.join(sorted(ids))}): {guard}")
    by_rules = defaultdict(list)
    for inc_id, rule in found.items():
        ticket = by_id.get(inc_id)
        if ticket is not None and rule.rule_ids and ticket.root_cause is not RootCause.LEGITIMATE:
            by_rules[ticket.root_cause].append(inc_id)
    acting = Counter(t.root_cause for t in tickets if t.root_cause is not RootCause.LEGITIMATE)
    floor = learner.params.min_verdicts
    for cause, ids in by_rules.items():
        if len(ids) == acting[cause] and acting[cause] >= floor:
            kept = max(ids, key=lambda i: (by_id[i].risk_score, i))
            outcome.guarded.append(f"rules would dismiss all {len(ids)} {cause.value} tickets: "
                                   f"{kept} (highest risk) kept open (learning never silences "
                                   "a whole root cause)")
            found.pop(kept)
    calibration = _calibration(tickets, resolutions, learned)
    outcome.calibration = calibration
    usual = _usual_actions(learned, p.usual_action_share, floor)
    out = []
    for t in tickets:
        sup = found.get(t.ticket_id)
        if sup is not None:
            keys = sup.rule_ids or ["resolved"]
            for k in keys:
                outcome.suppressed.setdefault(k, []).append(t.ticket_id)
            out.append(_dismissed(t, sup.rule_ids, sup.reason))
            continue
        out.append(_calibrated(t, calibration.get(t.root_cause.value), p, usual))
    return out, outcome


def _dismissed(t: Ticket, rule_ids: list[str], reason: str) -> Ticket:
    why = f"Learned from this site's verdicts: {reason}." if rule_ids else \
        "A verdict already resolved these transactions as a false alarm."
    extra = dict(t.model_extra or {})
    extra["learned"] = {"rule_ids": rule_ids, "reason": reason,
                        "root_cause": t.root_cause.value, "action": t.action.model_dump(),
                        "severity": t.severity.value}
    return t.model_copy(update={
        "root_cause": RootCause.LEGITIMATE, "severity": Severity.INFO,
        "action": Action(type=ActionType.NO_ACTION), "status": TicketStatus.NO_ACTION.value,
        "summary": f"Site's normal practice: {t.summary}",
        "explanation": f"{why} Originally: {t.root_cause.value}, {t.action.type.value}. "
                       f"{t.explanation}",
        **extra,
    })


def _calibration(tickets: Sequence[Ticket], resolutions: Sequence[Resolution],
                 learned: Learned) -> dict[str, tuple[int, int]]:
    ignored = {i.index for i in learned.ignored}
    owner: dict[str, Ticket] = {}
    for t in tickets:
        for x in t.txn_ids:
            owner.setdefault(x, t)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, res in enumerate(resolutions):
        mine = next((owner[x] for x in res.txn_ids if x in owner), None)
        if i in ignored or mine is None or mine.root_cause is RootCause.LEGITIMATE:
            continue
        right = not res.benign and res.root_cause in (None, mine.root_cause)
        c = counts[mine.root_cause.value]
        c[0] += 1
        c[1] += right
    return {k: (n, r) for k, (n, r) in counts.items()}


def _usual_actions(learned: Learned, share: float, floor: int) -> dict[str, str]:
    out = {}
    for cause, acts in learned.actions.items():
        total = sum(acts.values())
        top, n = max(acts.items(), key=lambda kv: kv[1])
        if total >= floor and n >= share * total:
            out[cause] = top
    return out


def _calibrated(t: Ticket, counts: tuple[int, int] | None, p: ApplyParams,
                usual: dict[str, str]) -> Ticket:
    update: dict[str, object] = {}
    if counts is not None and counts[0]:
        n, right = counts
        k = p.calibration_strength
        update["confidence"] = round((k * t.confidence + right) / (k + n), 3)
    site_action = usual.get(t.root_cause.value)
    if site_action and site_action != t.action.type.value:
        update["site_usual_action"] = site_action
    return t.model_copy(update=update) if update else t
