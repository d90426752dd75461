"""Alembic environment for Tally: SQLite and PostgreSQL, online (and offline SQL) mode.

The connection comes from ``config.attributes["connection"]`` when the store runs the
upgrade (``Store.upgrade()``); otherwise from ``sqlalchemy.url`` or the settings.
Migrations are written by hand (no autogenerate), so no target metadata is needed.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from warehouse.settings import get_settings

config = context.config


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    if context.is_offline_mode():
        context.configure(url=_url(), literal_binds=True,
                          dialect_opts={"paramstyle": "named"})
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


run_migrations()
