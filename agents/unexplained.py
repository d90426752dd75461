"""Write-offs without a recorded cause: one review ticket, not one queue ticket each.

Where a site's staff post their own stock corrections (an order export has no counts),
most write-offs carry no explanation: no note naming a cause, reason ``OTHER`` or none.
The reasoner reads each as a loss (SHRINKAGE, INVESTIGATE), rightly, but one at a time
they bury the tickets the staff's own notes raised ("lost", "wrong barcode", "sold as
sets"). A *lone* one (an incident holding one write-off, perhaps with stock of the same
item added back, flagged for size alone: :data:`SIZE_CODES`) is the record being
corrected without a word; many of them by one
poster are one thing to do: review them in one sitting, largest first, and ask for the
causes. :func:`fold_unexplained` lists them under one systemic ticket per posting user
(SHRINKAGE, INVESTIGATE of that user), each occurrence keeping its own evidence, once
there are at least ``min_occurrences``.

What stays a ticket of its own: a write-off whose note names a cause (:func:`scoring.notes.
named_cause`; a note is read only as data), or whose reason code says one (``LOST``,
``DAMAGED``, ...), repeated write-offs of one item (one incident of several), and anything
another rule linked (an offsetting partner, a noted exception, other transaction types).
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from agents.dismissed import EXAMPLES, Namer, fold_groups, span
from prompts import render
from scoring.notes import catalogue_of, named_cause
from tools.view import WarehouseView, cell_str, records
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

SIZE_CODES = frozenset({"LARGE_ADJUSTMENT", "WRITE_OFF_PATTERN"})
"""Reason codes that say only how large or valuable a write-off is, not why it happened."""
UNEXPLAINED_REASONS = frozenset({"", "OTHER"})
"""Adjustment reason codes that record no cause."""


def _size_only_loss(t: Ticket) -> bool:
    codes = set(getattr(t, "reason_codes", None) or [])
    return (t.parent_ticket_id is None and t.kind is TicketKind.INCIDENT
            and t.root_cause is RootCause.SHRINKAGE and t.action.type is ActionType.INVESTIGATE
            and bool(codes) and codes <= SIZE_CODES)


def _poster(rows: pd.DataFrame, catalogue: frozenset[str]) -> str | None:
    """The user of a lone unexplained write-off (None when ``rows`` are not one).

    ``rows`` are one ticket's: adjustments of one item, exactly one of them a write-off
    (any other adds stock back: the same correction put right), none recording a cause.
    """
    if (rows.empty or not (rows["type"] == "ADJUSTMENT").all() or rows["sku"].nunique() != 1
            or int((rows["eaches"] < 0).sum()) != 1):
        return None
    for r in records(rows):
        reason = (cell_str(getattr(r, "reason_code", None)) or "").upper()
        if reason not in UNEXPLAINED_REASONS or named_cause(
                cell_str(getattr(r, "note", None)), catalogue) is not None:
            return None
    user = cell_str(rows.loc[rows["eaches"] < 0, "user_id"].iloc[0])
    return user or "?"


def fold_unexplained(tickets: list[Ticket], view: WarehouseView, *, min_occurrences: int,
                     prefix: str = "UNX", name: Namer | None = None) -> list[Ticket]:
    """``tickets`` with each poster's many lone unexplained write-offs under one parent.

    Args:
        tickets: triaged tickets.
        view: the warehouse, for each write-off's note, reason code and user.
        min_occurrences: lone unexplained write-offs of one user from which they fold.
        prefix: parent ticket ids are ``UNX-00001``, ...
        name: names a parent from the prefix and its poster instead (stable ids).

    Returns:
        The tickets in their order, each folded group's parent after the others.
    """
    candidates = [i for i, t in enumerate(tickets) if _size_only_loss(t)]
    if len(candidates) < min_occurrences:
        return tickets
    catalogue = catalogue_of(view.dataset.items)
    groups: dict[str, list[int]] = defaultdict(list)
    for i in candidates:
        if (user := _poster(view.txns(tickets[i].txn_ids), catalogue)) is not None:
            groups[user].append(i)
    return fold_groups(tickets, groups, min_occurrences=min_occurrences, prefix=prefix,
                       parent=_parent, name=name)


def _parent(ticket_id: str, user: str, children: list[Ticket]) -> Ticket:
    n = len(children)
    skus, days = span(children)
    value = round(sum(c.value_at_risk for c in children), 2)
    largest = sorted(children, key=lambda c: (-c.value_at_risk, c.ticket_id))[:EXAMPLES]
    facts = [(f"{n:,} write-offs posted by {user} without a recorded cause (no note naming "
              f"one, reason code OTHER or none), each alone in its incident but for stock of the "
              f"same item added back", "policy"),
             (f"they span {len(skus):,} SKUs and {len(days)} days"
              + (f" (first {days[0]}, last {days[-1]})" if days else ""), "scorer"),
             (f"money written off: {value:,.2f} at unit cost", "policy")]
    facts += [(f"e.g. {c.ticket_id} ({c.value_at_risk:,.2f}): {c.summary}", "policy")
              for c in largest]
    evidence = [EvidenceItem(id=f"E{i}", fact=f, source=s)
                for i, (f, s) in enumerate(facts, start=1)]
    locs = {c.location for c in children}
    location = next(iter(locs)) if len(locs) == 1 else None
    action = Action(type=ActionType.INVESTIGATE,
                    params={k: v for k, v in {"user_id": user, "location": location}.items()
                            if v and v != "?"})
    ctx = {"n": n, "user": user, "skus": skus, "days": days, "value": value,
           "largest": largest[0].ticket_id, "cited": evidence[:3]}
    return Ticket(
        ticket_id=ticket_id,
        txn_ids=list(dict.fromkeys(t for c in children for t in c.txn_ids)),
        sku=skus[0] if len(skus) == 1 else None, location=location,
        risk_score=round(max(c.risk_score for c in children), 4), severity=Severity.REVIEW,
        root_cause=RootCause.SHRINKAGE,
        confidence=round(sum(c.confidence for c in children) / n, 3),
        summary=render("systemic/unexplained_summary", **ctx).strip(),
        explanation=render("systemic/unexplained", **ctx).strip(),
        evidence=evidence, action=action, status=TicketStatus.PENDING_APPROVAL.value,
        value_at_risk=value, kind=TicketKind.SYSTEMIC, child_count=n,
        reason_codes=sorted({c for t in children for c in getattr(t, "reason_codes", [])}),
        reasoner="systemic",
        pattern={"family": "unexplained", "subject": user, "skus": len(skus),
                 "days": len(days)},
    )
