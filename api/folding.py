"""The service folds as ``tally run`` does, one round of flags at a time, into the store.

The folding itself is :mod:`agents.folding` (one definition for both paths); here is what the
store adds. Parent ids digest the site and what the parent groups (a pattern's family and
subject, a poster, a reason-code set), so a later round finds the parent an earlier one made:

- **Systemic patterns.** A round's flags split into incidents and patterns with the site's
  open systemic tickets known (their later occurrences fold at any count). Each pattern is
  rebuilt from its stored occurrences (the flags each child keeps) and the round's, its
  parent stored or refreshed, its new occurrences stored as children (built without the
  graph, as in the batch run). An open incident ticket whose flags now fall in a
  pattern becomes its child rather than staying a ticket of its own.
- **Unexplained write-offs and dismissals.** After triage, the site's open top-level incident
  tickets and the children of its open fold parents are folded again; a group's parent is
  stored or refreshed and its members point at it.

A parent somebody already decided is left as it is, and its group's new members stay
tickets of their own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from actions.audit import AuditKind, AuditLog
from agents.dismissed import Namer
from agents.folding import fold_tickets, split_systemic
from agents.systemic import systemic_tickets
from api.joining import OPEN, OpenFlags, stored_flags
from api.tickets import TicketRecord, contract_ticket, save_ticket, update_ticket
from scoring.systemic import FAMILIES, Pattern
from scoring.types import Flag
from tools.view import WarehouseView
from warehouse.canonical import action_digest
from warehouse.contract import Ticket, TicketKind

TICKET_FOLDS = frozenset({"dismissed", "unexplained"})
"""Pattern families of the parents :func:`fold_open` makes (after triage)."""
OCCURRENCE_FLAGS = "occurrence_flags"
"""A stored systemic child's flags (the pattern is rebuilt from them, whatever the path that
raised them: ``tally triage`` stores no ``FLAGS`` work items)."""
REFRESHED = ("txn_ids", "sku", "location", "risk_score", "confidence", "summary",
             "explanation", "value_at_risk", "child_count")
"""Fields of a stored parent that a later round refreshes (its action stays as reviewed)."""


def namer(site: str) -> Namer:
    """Parent ids for ``site``: the prefix and a digest of the group's key."""
    def name(prefix: str, key: Any) -> str:
        digest = hashlib.sha256(f"{site}\n{json.dumps(key)}".encode()).hexdigest()[:12]
        return f"{prefix}-{digest}"
    return name


def _parents(session: Session, site: str, families: frozenset[str]) -> list[TicketRecord]:
    records = session.execute(select(TicketRecord).where(
        col(TicketRecord.site) == site, col(TicketRecord.kind) == TicketKind.SYSTEMIC.value,
        col(TicketRecord.status).in_(OPEN))).scalars().all()
    return [r for r in records if (r.extra.get("pattern") or {}).get("family") in families]


def _children(session: Session, parent_ids: Sequence[str]) -> list[TicketRecord]:
    if not parent_ids:
        return []
    return list(session.execute(select(TicketRecord).where(
        col(TicketRecord.parent_ticket_id).in_(list(parent_ids)))
        .order_by(col(TicketRecord.ticket_id))).scalars().all())


def _occurrence_flags(session: Session, site: str, children: Sequence[TicketRecord]
                      ) -> list[Flag]:
    """The flags of a pattern's stored occurrences.

    Each child keeps its own; an incident that became a child has those of its ``FLAGS``
    work items.
    """
    kept = [Flag.model_validate(f) for r in children for f in r.extra.get(OCCURRENCE_FLAGS, [])]
    return kept + stored_flags(session, site, [t for r in children
                                               if OCCURRENCE_FLAGS not in r.extra
                                               for t in r.txn_ids])


def systemic_keys(session: Session, site: str) -> set[tuple[str, str]]:
    """(family, subject) of the site's open systemic tickets of flag patterns."""
    return {(r.extra["pattern"]["family"], r.extra["pattern"]["subject"])
            for r in _parents(session, site, frozenset(FAMILIES))}


def _store_parent(session: Session, ticket: Ticket, site: str, audit: AuditLog) -> bool:
    """Store a new parent or refresh an open one; False when one was decided already."""
    record = session.get(TicketRecord, ticket.ticket_id)
    if record is None:
        save_ticket(session, ticket=ticket, actor="tally-agent", site=site)
    elif record.status not in OPEN:
        return False
    elif record.child_count == ticket.child_count and record.txn_ids == ticket.txn_ids:
        return True
    else:
        fresh = {k: v for k, v in ticket.model_dump(mode="json").items() if k in REFRESHED}
        extra = {**record.extra, "pattern": ticket.model_dump(mode="json").get("pattern")}
        if action_digest(ticket.action) != record.action_digest:
            fresh["explanation"] = record.explanation  # it explains the action as reviewed
        update_ticket(session, record=record, **fresh, extra=extra,
                      evidence=[e.model_dump(mode="json") for e in ticket.evidence])
    audit.append(AuditKind.TICKET, {"ticket_id": ticket.ticket_id, "site": site,
                                    "kind": ticket.kind.value,
                                    "child_count": ticket.child_count},
                 correlation_id=ticket.ticket_id)
    return True


def _reparent(session: Session, record: TicketRecord, parent_id: str) -> None:
    if record.parent_ticket_id != parent_id:
        update_ticket(session, record=record, parent_ticket_id=parent_id)


def open_patterns(session: Session, patterns: Sequence[Pattern], *, known: OpenFlags,
                  view: WarehouseView, site: str, audit: AuditLog,
                  unit_cost: Callable[[str | None], float | None] | None = None
                  ) -> list[TicketRecord]:
    """Store each pattern's parent and new children; the parents' stored records.

    Args:
        session: the triage session (under the triage lock).
        patterns: this round's, from :func:`agents.folding.split_systemic`.
        known: the open tickets holding flags of this round's SKUs.
        view: the warehouse, for the tickets' costs, descriptions and rows.
        site: the site of the flags.
        audit: where new and refreshed parents are recorded.
        unit_cost: ``sku -> cost of one each`` (None: unknown) for the approval limits.
    """
    name = namer(site)
    out = []
    for pattern in patterns:
        key = (pattern.family, pattern.subject)
        parent_id = name("SYS", key)
        before = _children(session, [parent_id])
        flags = _occurrence_flags(session, site, before)
        # the round brings back stored occurrences' flags too: each flag counts once
        seen = {(f.txn_id, f.detector, f.code) for f in flags}
        flags += [f for f in pattern.flags if (f.txn_id, f.detector, f.code) not in seen]
        whole = next(p for p in split_systemic(flags, systemic={key})[1]
                     if (p.family, p.subject) == key)
        parent, *children = systemic_tickets([whole], view, name=name)
        if not _store_parent(session, parent, site, audit):
            continue
        mine = {t for r in before for t in r.txn_ids}
        for child, occ in zip(children, whole.occurrences, strict=True):
            txn = child.txn_ids[0]
            if txn in mine:
                continue
            owner = known.owner.get(txn)
            if owner is not None and owner.kind == TicketKind.INCIDENT.value:
                _reparent(session, owner, parent_id)
            elif owner is None:
                # the occurrence keeps its flags: a later round rebuilds the pattern from them
                kept = Ticket.model_validate({**child.model_dump(mode="json"), OCCURRENCE_FLAGS:
                                              [f.model_dump(mode="json") for f in occ.flags]})
                save_ticket(session, ticket=kept, actor="tally-agent", site=site,
                            unit_cost=unit_cost(child.sku) if unit_cost else None)
        stored = session.get(TicketRecord, parent_id)
        assert stored is not None
        out.append(stored)
    return out


def fold_open(session: Session, *, view: WarehouseView, site: str,
              audit: AuditLog) -> list[TicketRecord]:
    """Fold the site's open tickets again (:func:`agents.folding.fold_tickets`); new parents."""
    parents = _parents(session, site, TICKET_FOLDS)
    members = _children(session, [p.ticket_id for p in parents])
    loose = session.execute(select(TicketRecord).where(
        col(TicketRecord.site) == site, col(TicketRecord.kind) == TicketKind.INCIDENT.value,
        col(TicketRecord.parent_ticket_id).is_(None),
        col(TicketRecord.status).in_(OPEN))).scalars().all()
    records = {r.ticket_id: r for r in [*members, *loose]}
    # a folded ticket is a candidate again: its group is recomputed with the new ones
    tickets = [contract_ticket(r).model_copy(update={"parent_ticket_id": None})
               for r in sorted(records.values(), key=lambda r: (r.created_at, r.ticket_id))]
    folded = fold_tickets(tickets, view, name=namer(site))
    known = {p.ticket_id for p in parents}
    opened = []
    for parent in (t for t in folded if t.kind is TicketKind.SYSTEMIC):
        if not _store_parent(session, parent, site, audit):
            continue
        for child in (t for t in folded if t.parent_ticket_id == parent.ticket_id):
            _reparent(session, records[child.ticket_id], parent.ticket_id)
        if parent.ticket_id not in known:
            stored = session.get(TicketRecord, parent.ticket_id)
            assert stored is not None
            opened.append(stored)
    return opened
