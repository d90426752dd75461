"""Dismissals folded: many tickets of one kind that propose nothing become one ticket.

Triage dismisses a flag it finds unusual but correct (LEGITIMATE, NO_ACTION): a large
order, a busy day, a write-off the staff explained. One such ticket asks nothing of a
supervisor; hundreds of them, each of one reason-code set, describe what is normal at the
site and bury the tickets that do ask something. :func:`fold_dismissed` lists them under
one systemic ticket per reason-code set (``kind: systemic``, ``child_count``), each keeping
its own evidence and reason, once there are at least ``min_occurrences`` of them.
:func:`fold_groups` is the folding itself, shared with :mod:`agents.unexplained`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from prompts import render
from warehouse.contract import (
    Action,
    ActionType,
    EvidenceItem,
    RootCause,
    Severity,
    Ticket,
    TicketKind,
    TicketStatus,
)

EXAMPLES = 5
"""Occurrences quoted in the parent's evidence."""
K = TypeVar("K")
Namer = Callable[[str, Any], str]
"""A folded group's parent id from the id prefix and the group's key."""


def _dismissed(t: Ticket) -> bool:
    return (t.parent_ticket_id is None and t.kind is TicketKind.INCIDENT
            and t.action.type is ActionType.NO_ACTION)


def _codes(t: Ticket) -> tuple[str, ...]:
    return tuple(sorted(set(getattr(t, "reason_codes", None) or [])))


def fold_dismissed(tickets: list[Ticket], *, min_occurrences: int, prefix: str = "DIS",
                   name: Namer | None = None) -> list[Ticket]:
    """``tickets`` with each large group of dismissals under one systemic parent.

    Args:
        tickets: triaged tickets (incidents and any systemic ones).
        min_occurrences: dismissals of one reason-code set from which they fold.
        prefix: parent ticket ids are ``DIS-00001``, ...
        name: names a parent from the prefix and its group's key instead (stable ids).

    Returns:
        The tickets in their order, each folded group's parent after the group's children.
    """
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, t in enumerate(tickets):
        if _dismissed(t) and _codes(t):
            groups[_codes(t)].append(i)
    return fold_groups(tickets, groups, min_occurrences=min_occurrences, prefix=prefix,
                       parent=lambda pid, codes, children: _parent(pid, list(codes), children),
                       name=name)


def fold_groups(tickets: list[Ticket], groups: Mapping[K, list[int]], *, min_occurrences: int,
                prefix: str, parent: Callable[[str, K, list[Ticket]], Ticket],
                name: Namer | None = None) -> list[Ticket]:
    """``tickets`` with each group of at least ``min_occurrences`` under a systemic parent.

    Args:
        tickets: the tickets.
        groups: group key -> positions in ``tickets`` of its members (in order).
        min_occurrences: members from which a group folds.
        prefix: parent ids are ``<prefix>-00001``, ... in order of each group's first member.
        parent: builds the parent from its id, the group's key and its (re-parented) children.
        name: the parent's id from ``prefix`` and the group's key (e.g. a digest, so that a
            store folding again names the same group the same); numbered when None.

    Returns:
        The tickets in their order, children pointing at their parent, the parents last.
    """
    out = list(tickets)
    parents = []
    for k, (key, members) in enumerate(
            sorted((g for g in groups.items() if len(g[1]) >= min_occurrences),
                   key=lambda g: g[1][0]), start=1):
        parent_id = name(prefix, key) if name is not None else f"{prefix}-{k:05d}"
        children = [tickets[i].model_copy(update={"parent_ticket_id": parent_id})
                    for i in members]
        for i, child in zip(members, children, strict=True):
            out[i] = child
        parents.append(parent(parent_id, key, children))
    return out + parents


def span(children: list[Ticket]) -> tuple[list[str], list[str]]:
    """The distinct SKUs and calendar days (from ``first_ts``) of ``children``, sorted."""
    skus = sorted({c.sku for c in children if c.sku})
    days = sorted({str(d)[:10] for c in children if (d := getattr(c, "first_ts", None))})
    return skus, days


def _parent(ticket_id: str, codes: list[str], children: list[Ticket]) -> Ticket:
    n = len(children)
    skus, days = span(children)
    facts = [(f"{n:,} tickets of {' + '.join(codes)} dismissed as unusual but correct "
              f"(LEGITIMATE, NO_ACTION)", "policy"),
             (f"they span {len(skus):,} SKUs and {len(days)} days"
              + (f" (first {days[0]}, last {days[-1]})" if days else ""), "scorer")]
    facts += [(f"e.g. {c.ticket_id}: {c.summary}", "policy") for c in children[:EXAMPLES]]
    evidence = [EvidenceItem(id=f"E{i}", fact=f, source=s)
                for i, (f, s) in enumerate(facts, start=1)]
    ctx = {"n": n, "codes": codes, "skus": skus, "days": days, "cited": evidence[:2]}
    locs = {c.location for c in children}
    return Ticket(
        ticket_id=ticket_id, txn_ids=list(dict.fromkeys(t for c in children for t in c.txn_ids)),
        sku=skus[0] if len(skus) == 1 else None,
        location=next(iter(locs)) if len(locs) == 1 else None,
        risk_score=round(max(c.risk_score for c in children), 4), severity=Severity.INFO,
        root_cause=RootCause.LEGITIMATE,
        confidence=round(sum(c.confidence for c in children) / n, 3),
        summary=render("systemic/dismissed_summary", **ctx).strip(),
        explanation=render("systemic/dismissed", **ctx).strip(),
        evidence=evidence, action=Action(type=ActionType.NO_ACTION),
        status=TicketStatus.NO_ACTION.value, value_at_risk=0.0, kind=TicketKind.SYSTEMIC,
        child_count=n, reason_codes=codes, reasoner="systemic",
        pattern={"family": "dismissed", "subject": " + ".join(codes), "skus": len(skus),
                 "days": len(days)},
    )
