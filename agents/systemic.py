"""Systemic tickets: one parent per systemic pattern, one cheap child per occurrence.

:func:`scoring.systemic.fold` takes the flags of one cause behind many occurrences (a feed
repeating lines, a scanner double-scanning) out of incident grouping. Here each pattern
becomes one ticket (``kind: systemic``, ``child_count`` = occurrences) that names the
pattern with its numbers and proposes the check that fits (INVESTIGATE of the feed or
scanner), and each occurrence a child ticket (``parent_ticket_id``) built without the
graph: it quotes its own flags and transactions and proposes nothing beyond the parent's
check, so thousands of occurrences cost milliseconds, not a triage each.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from agents.dismissed import Namer
from agents.value import doubtful_eaches, unit_cost
from prompts import render
from scoring.systemic import Occurrence, Pattern
from tools.item_master import item_master
from tools.recent_transactions import TxnRow
from tools.view import WarehouseView, cell_str, row_dicts
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

CAUSES: dict[str, RootCause] = {"feed": RootCause.SYSTEM_SYNC, "scanner": RootCause.MIS_SCAN}
TITLES: dict[str, str] = {"feed": "Feed repeats lines", "scanner": "Scanner double-scans"}
SUBJECTS: dict[str, str] = {"feed": "the feed of", "scanner": "scanner"}
EXAMPLES = 5
"""Occurrences quoted in the parent's evidence."""


def systemic_tickets(patterns: list[Pattern], view: WarehouseView, *,
                     prefix: str = "SYS", name: Namer | None = None) -> list[Ticket]:
    """The parent and child tickets of every pattern, parents first in each pattern.

    Args:
        patterns: from :func:`scoring.systemic.fold`.
        view: the warehouse, for unit costs and descriptions.
        prefix: ticket id prefix; parents are ``SYS-00001``, children ``SYS-00001-00001``.
        name: names a parent from the prefix and its pattern's (family, subject) instead.
    """
    out: list[Ticket] = []
    for k, pattern in enumerate(patterns, start=1):
        key = (pattern.family, pattern.subject)
        parent_id = name(prefix, key) if name is not None else f"{prefix}-{k:05d}"
        rows = _occurrence_rows(pattern, view)
        children = [_child(parent_id, i, o, pattern, view, rows)
                    for i, o in enumerate(pattern.occurrences, start=1)]
        out.append(_parent(parent_id, pattern, children, view))
        out.extend(children)
    return out


def _describe(view: WarehouseView, sku: str | None) -> str:
    item = view.item(sku) if sku else None
    text = cell_str(item.get("description")) if item is not None else None
    return f"{sku} ({text})" if sku and text else str(sku)


def _main_user(pattern: Pattern) -> str | None:
    users = Counter(f.user_id for f in pattern.flags if f.user_id)
    return users.most_common(1)[0][0] if users else None


def _parent(ticket_id: str, pattern: Pattern, children: list[Ticket],
            view: WarehouseView) -> Ticket:
    n = len(pattern.occurrences)
    skus, days, locs = pattern.skus, pattern.days, pattern.locations
    user = _main_user(pattern)
    cause = CAUSES[pattern.family]
    subject_user = pattern.subject if pattern.family == "feed" else user
    params = {k: v for k, v in {"user_id": subject_user,
                                "location": locs[0] if len(locs) == 1 else None}.items() if v}
    action = Action(type=ActionType.INVESTIGATE, params=params)
    by_type = Counter(str(f.numbers.get("type")) for f in pattern.flags if f.numbers.get("type"))
    facts = [
        (f"{n:,} occurrences of {', '.join(pattern.codes)} by "
         f"{'feed ' if pattern.family == 'feed' else 'scanner '}{pattern.subject}", "scorer"),
        (f"they span {len(skus):,} SKUs, {len(locs):,} locations and {len(days)} days "
         f"(first {days[0]}, last {days[-1]})" if days else f"they span {len(skus):,} SKUs",
         "scorer"),
    ]
    if by_type:
        facts.append(("by transaction type: " + ", ".join(f"{t} {c:,}" for t, c in
                                                          by_type.most_common()), "scorer"))
    top = Counter(f.sku for f in pattern.flags if f.sku).most_common(3)
    facts.append(("most repeated SKUs: " + ", ".join(f"{_describe(view, s)} {c:,} times"
                                                     for s, c in top), "scorer"))
    facts += [(f"e.g. {o.flags[0].reason}", f"scorer:{o.flags[0].detector}")
              for o in pattern.occurrences[:EXAMPLES]]
    value = round(sum(c.value_at_risk for c in children), 2)
    facts.append((f"money in the occurrences: {value:,.2f} at unit cost", "policy"))
    evidence = [EvidenceItem(id=f"E{i}", fact=f, source=s)
                for i, (f, s) in enumerate(facts, start=1)]
    ctx = {"title": TITLES[pattern.family], "n": n, "skus": skus, "days": days or ["?"],
           "subject": pattern.subject, "subject_label": SUBJECTS[pattern.family],
           "user": user, "action": action, "cited": evidence[:2]}
    scores = [f.score for f in pattern.flags]
    txn_ids = list(dict.fromkeys(t for c in children for t in c.txn_ids))
    return Ticket(
        ticket_id=ticket_id, txn_ids=txn_ids,
        sku=skus[0] if len(skus) == 1 else None, location=locs[0] if len(locs) == 1 else None,
        risk_score=round(max(scores), 4), severity=Severity.REVIEW, root_cause=cause,
        confidence=round(sum(scores) / len(scores), 3),
        summary=render("systemic/summary", **ctx).strip(),
        explanation=render(f"systemic/{pattern.family}", **ctx).strip(),
        evidence=evidence, action=action, status=TicketStatus.PENDING_APPROVAL.value,
        value_at_risk=value, kind=TicketKind.SYSTEMIC, child_count=n,
        reason_codes=pattern.codes, reasoner="systemic",
        pattern={"family": pattern.family, "subject": pattern.subject, "skus": len(skus),
                 "locations": len(locs), "days": len(days)},
    )


@dataclass(frozen=True)
class _OccurrenceRows:
    """Each occurrence's own ledger row, read for all of a pattern's occurrences at once."""

    facts: dict[str, str]
    """txn_id -> the row's evidence sentence."""
    doubtful: dict[str, float]
    """txn_id -> eaches the row leaves in doubt."""


def _occurrence_rows(pattern: Pattern, view: WarehouseView) -> _OccurrenceRows:
    rows = view.txns([o.txn_id for o in pattern.occurrences])
    ids = rows["txn_id"].tolist()
    return _OccurrenceRows(
        facts={t: TxnRow.from_row(r).fact()
               for t, r in zip(ids, row_dicts(rows), strict=True)},
        doubtful=dict(zip(ids, doubtful_eaches(rows).tolist(), strict=True)))


def _child(parent_id: str, index: int, occ: Occurrence, pattern: Pattern,
           view: WarehouseView, rows: _OccurrenceRows) -> Ticket:
    flag = occ.flags[0]
    txn_ids = [occ.txn_id, *occ.related]
    known = occ.txn_id in rows.facts
    value = float(rows.doubtful[occ.txn_id] * unit_cost(view, flag.sku)) if known else 0.0
    params = {k: v for k, v in {"sku": flag.sku, "location": flag.location,
                                "user_id": flag.user_id}.items() if v}
    summary = render("systemic/occurrence", index=index, n=len(pattern.occurrences),
                     parent=parent_id, title=TITLES[pattern.family],
                     reason=f"{occ.txn_id} on {_describe(view, flag.sku)}").strip()
    facts = [(f.reason, f"scorer:{f.detector}") for f in occ.flags]
    if known:
        facts.append((rows.facts[occ.txn_id], "transactions"))
    item = item_master(view, flag.sku) if flag.sku else None
    facts += [(fact, "item_master") for fact in (item.facts() if item is not None else [])]
    facts.append((f"occurrence {index} of the {len(pattern.occurrences):,} of {parent_id} "
                  f"({TITLES[pattern.family].lower()})", "scorer:systemic"))
    evidence = [EvidenceItem(id=f"E{i}", fact=f, source=s)
                for i, (f, s) in enumerate(facts, start=1)]
    return Ticket(
        ticket_id=f"{parent_id}-{index:05d}", txn_ids=txn_ids, sku=flag.sku,
        location=flag.location, risk_score=round(max(f.score for f in occ.flags), 4),
        severity=Severity.INFO, root_cause=CAUSES[pattern.family],
        confidence=round(flag.score, 3), summary=summary,
        explanation=render("systemic/occurrence_explain", summary=summary,
                           parent=parent_id).strip(),
        evidence=evidence, action=Action(type=ActionType.INVESTIGATE, params=params),
        status=TicketStatus.PENDING_APPROVAL.value,
        value_at_risk=round(value, 2) if value > 0 else 0.0, kind=TicketKind.INCIDENT,
        parent_ticket_id=parent_id, reason_codes=list(dict.fromkeys(f.code for f in occ.flags)),
        reasoner="systemic",
    )
