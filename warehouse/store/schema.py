"""Running the Alembic migrations in ``warehouse/migrations`` against an engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

import warehouse.migrations

MIGRATIONS = Path(warehouse.migrations.__file__).parent
_UPGRADE_LOCK = (0x7A11, 0x5C4E)
"""The advisory lock (two ints) PostgreSQL upgrades are serialised under."""


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config for Tally's migrations, bound to ``engine``'s URL when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
        config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (the latest by default), in one transaction.

    On PostgreSQL the transaction first takes an advisory lock, so processes starting
    together on a new database upgrade one after the other: Alembic reads the version
    row only once the lock is held (a committed earlier upgrade is seen, read committed),
    so the later ones find the schema at ``revision`` and do nothing. The lock ends with
    the transaction. SQLite serialises writers itself.
    """
    config = alembic_config(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                               {"ns": _UPGRADE_LOCK[0], "key": _UPGRADE_LOCK[1]})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
