"""The service's database handle, from the settings in force."""

from __future__ import annotations

from sqlalchemy import Engine, Table, create_engine, inspect

from actions.audit import AuditHead, AuditRecord
from actions.outbox import WriteBackOutbox
from api.auth import ApiKey, User, UserSiteRole
from api.chat.history import ChatMessage
from api.count_plans import CountPlanRecord, CountTaskRecord
from api.stream_tables import ScoredEvent, ScorerFit, StreamMember
from api.tickets import TicketApproval, TicketEvent, TicketRecord
from api.worker import PendingWork
from warehouse.errors import UserError
from warehouse.settings import Settings, get_settings

SERVICE_TABLES: list[Table] = [
    t.__table__  # type: ignore[union-attr]  # a table model's SQLAlchemy Table
    for t in (User, ApiKey, AuditRecord, AuditHead, PendingWork, TicketRecord, TicketEvent,
              TicketApproval, ChatMessage, CountPlanRecord, CountTaskRecord,
              WriteBackOutbox, UserSiteRole, ScoredEvent, ScorerFit, StreamMember)
]


def open_engine(settings: Settings | None = None, *, require: tuple[str, ...] = ()) -> Engine:
    """An engine on the configured database; ``require`` names tables that must exist."""
    settings = settings or get_settings()
    engine = create_engine(settings.resolved_database_url(), pool_pre_ping=True)
    if require:
        missing = set(require) - set(inspect(engine).get_table_names())
        if missing:
            raise UserError(
                f"database {engine.url.render_as_string(hide_password=True)} has no "
                f"{', '.join(sorted(missing))} table: nothing has been recorded there yet"
            )
    return engine


def prepare_database(settings: Settings | None = None) -> Engine:
    """An engine on the configured database, migrated to the latest schema.

    The service tables are created by the Alembic revision ``0002_service`` (a table added
    to SERVICE_TABLES needs a revision too: tests/test_migrations.py checks the two agree).
    """
    from warehouse.store.schema import upgrade

    settings = settings or get_settings()
    if settings.resolved_database_url().startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine(settings)
    upgrade(engine)
    return engine
