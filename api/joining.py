"""Later flags of an incident join its open ticket instead of opening another.

Flags reach triage in rounds (whatever is pending when a worker groups). Before grouping a
round, the flags of the open tickets on the round's SKUs are brought back (from their
``FLAGS`` work items) and grouped with it by the scorer's own incident rules; an incident
that holds an open ticket's flags adds its new transactions to that ticket (the oldest, when
it reaches several) rather than opening a ticket of its own. Callers hold the triage lock,
so two workers never open the same incident twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from actions.audit import AuditKind, AuditLog
from api.intake import flags_key
from api.tickets import EventKind, TicketRecord, add_event, update_ticket
from api.worker import PendingWork
from scoring.types import Flag, Incident
from warehouse.contract import TicketStatus

OPEN = (TicketStatus.PENDING_APPROVAL.value, TicketStatus.NO_ACTION.value)
"""Statuses of a ticket that later flags may still join (nobody has decided it)."""

_WORK = PendingWork.__table__  # type: ignore[attr-defined]


class OpenFlags:
    """The flags of the open tickets on some SKUs, and which ticket each belongs to."""

    def __init__(self, session: Session, skus: set[str], site: str) -> None:
        records = session.execute(select(TicketRecord).where(
            col(TicketRecord.site) == site, col(TicketRecord.sku).in_(skus),
            col(TicketRecord.status).in_(OPEN))).scalars().all() if skus else []
        self.owner: dict[str, TicketRecord] = {}
        for record in sorted(records, key=lambda r: (r.created_at, r.ticket_id)):
            for txn_id in record.txn_ids:
                self.owner.setdefault(txn_id, record)
        self.flags: list[Flag] = stored_flags(session, site, list(self.owner))

    def ticket_of(self, incident: Incident) -> TicketRecord | None:
        """The oldest open ticket holding one of the incident's flags, if any."""
        owners = [self.owner[f.txn_id] for f in incident.flags if f.txn_id in self.owner]
        return min(owners, key=lambda r: (r.created_at, r.ticket_id)) if owners else None

    def new_part(self, incident: Incident) -> Incident | None:
        """The incident without the flags open tickets hold; None when nothing is new."""
        flags = [f for f in incident.flags if f.txn_id not in self.owner]
        if not flags:
            return None
        txn_ids = [t for t in incident.txn_ids if t not in self.owner]
        return incident.model_copy(update={"flags": flags, "txn_ids": txn_ids})


def join(session: Session, record: TicketRecord, incident: Incident, audit: AuditLog
         ) -> TicketRecord:
    """Add the incident's transactions to an open ticket (history and audit say so)."""
    added = [t for t in incident.txn_ids if t not in set(record.txn_ids)]
    if not added:
        return record
    fresh = update_ticket(session, record=record, txn_ids=[*record.txn_ids, *added])
    add_event(session, ticket_id=record.ticket_id, actor="tally-agent", kind=EventKind.EDITED,
              detail={"joined_txn_ids": added})
    audit.append(AuditKind.TICKET, {"ticket_id": record.ticket_id, "joined_txn_ids": added},
                 correlation_id=record.ticket_id)
    return fresh


def stored_flags(session: Session, site: str, txn_ids: Sequence[str]) -> list[Flag]:
    """The flags raised on ``txn_ids`` (from their ``FLAGS`` work items), in that order."""
    keys = [flags_key(site, t) for t in dict.fromkeys(txn_ids)]
    payloads: dict[str, str] = {}
    for chunk in range(0, len(keys), 500):
        payloads.update(session.execute(select(_WORK.c.dedup_key, _WORK.c.payload).where(
            _WORK.c.dedup_key.in_(keys[chunk:chunk + 500]))).all())
    return [Flag.model_validate(f) for k in keys if k in payloads
            for f in json.loads(payloads[k])["flags"]]


def skus_of(flags: Sequence[Flag]) -> set[str]:
    """The SKUs a round of flags touches."""
    return {f.sku for f in flags if f.sku}
