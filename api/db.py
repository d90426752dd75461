"""The service's database handle, from the settings in force."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, inspect

from warehouse.cli import UserError
from warehouse.settings import Settings, get_settings


def open_engine(settings: Settings | None = None, *, require: tuple[str, ...] = ()) -> Engine:
    """An engine on the configured database; ``require`` names tables that must exist."""
    settings = settings or get_settings()
    engine = create_engine(settings.resolved_database_url())
    if require:
        missing = set(require) - set(inspect(engine).get_table_names())
        if missing:
            raise UserError(
                f"database {engine.url.render_as_string(hide_password=True)} has no "
                f"{', '.join(sorted(missing))} table: run `tally db upgrade` first"
            )
    return engine
