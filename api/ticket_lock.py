"""The ticket's row lock: every change of a decided ticket is one transaction holding it.

:func:`lock_ticket` starts the transaction with the lock taken (``BEGIN IMMEDIATE`` on
SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL) and reads the row fresh, so what a decision
checks (status, digest, approvals) is what it changes; a concurrent decision waits, then
sees the winner's row and is refused. The caller commits, or its exception rolls back
everything, approval and history rows included.
"""

from __future__ import annotations

from sqlmodel import Session, select

from actions.audit import begin_immediate
from api.tickets import TicketRecord


def lock_ticket(session: Session, ticket_id: str) -> TicketRecord | None:
    """Begin a transaction on ``session`` holding ``ticket_id``'s lock; the row as it is now.

    Anything the session read before is expired (it may be stale); None when no such ticket.
    """
    session.rollback()
    begin_immediate(session.connection())
    query = (select(TicketRecord).where(TicketRecord.ticket_id == ticket_id).with_for_update()
             .execution_options(populate_existing=True))
    return session.exec(query).first()


def bump(record: TicketRecord, **changes: object) -> None:
    """Change a locked ticket row (its ``version`` moves on, for optimistic readers)."""
    for name, value in changes.items():
        setattr(record, name, value)
    record.version += 1
