"""``tally resolutions import|list`` and ``tally learning show|undo|redo``.

Whoever can reach the database from the command line is its administrator, as for
``tally users``; ``--by`` names them in the audit chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.data import SiteOption

if TYPE_CHECKING:
    from api.learning import SiteLearning
    from scoring.learning import Learned

resolutions_app = typer.Typer(help="A site's verdicts (resolutions.csv).", no_args_is_help=True)
learning_app = typer.Typer(help="What the verdicts taught; undo a learned rule.",
                           no_args_is_help=True)


def _learning(site: str) -> SiteLearning:
    from actions.audit import AuditLog
    from api.learning import SiteLearning
    from warehouse.store import Store

    store = Store.open(site=site)
    store.upgrade()
    return SiteLearning(store, AuditLog(store.engine))


@resolutions_app.command("import")
def resolutions_import_command(
    file: Annotated[Path, typer.Argument(help="a resolutions.csv (CONTRACT.md section 6)")],
    by: Annotated[str, typer.Option(help="who imports it (audit)")] = "cli",
    rejects: Annotated[Path | None, typer.Option(help="bad rows to this CSV")] = None,
    site: SiteOption = "default",
) -> None:
    """Store a resolution log's verdicts (bad rows rejected with line and field) and relearn."""
    from warehouse.errors import UserError
    from warehouse.loader.resolutions import load_resolutions

    if not file.is_file():
        raise UserError(f"{file}: no such file")
    loaded = load_resolutions(file, rejects_path=rejects)
    for r in loaded.report.rejects[:20]:
        typer.echo(f"rejected {Path(r.file).name} line {r.line}, {r.field}: {r.reason}")
    learning = _learning(site)
    n = learning.record(loaded.resolutions, source="import", by=by)
    typer.echo(f"imported {n} verdicts, {loaded.report.rejected} rows rejected")
    _print(learning.learned())


@resolutions_app.command("list")
def resolutions_list_command(site: SiteOption = "default") -> None:
    """Every stored verdict of the site (imported, posted, and from decisions)."""
    for r in _learning(site).verdicts():
        typer.echo(f"{r.verdict.value:11} {r.root_cause or '-':16} {r.action or '-':20} "
                   f"{r.decided_by or '-':12} {' '.join(r.txn_ids)[:60]}")


@learning_app.command("show")
def learning_show_command(site: SiteOption = "default") -> None:
    """What the verdicts taught: rules with the votes behind them, ignored verdicts."""
    _print(_learning(site).learned())


@learning_app.command("undo")
def learning_undo_command(
    rule_id: Annotated[str, typer.Argument(help="LR-... as `tally learning show` lists it")],
    by: Annotated[str, typer.Option(help="the admin undoing it (audit)")],
    reason: Annotated[str, typer.Option(help="why")] = "",
    site: SiteOption = "default",
) -> None:
    """Switch a learned rule off (it stays off until `tally learning redo`)."""
    _print(_learning(site).undo(rule_id, by=by, reason=reason))


@learning_app.command("redo")
def learning_redo_command(
    rule_id: Annotated[str, typer.Argument(help="an undone rule's id")],
    by: Annotated[str, typer.Option(help="the admin restoring it (audit)")],
    site: SiteOption = "default",
) -> None:
    """Withdraw an undo."""
    _print(_learning(site).redo(rule_id, by=by))


def _print(learned: Learned) -> None:
    typer.echo(f"{learned.verdicts} verdicts, {learned.used} learned from "
               f"({learned.false_alarms} false alarms, {learned.confirmed} confirmed)")
    for rule in learned.rules:
        typer.echo(f"  {rule.rule_id} {'active' if rule.active else 'UNDONE'}: "
                   f"{rule.describe()}")
    for v in learned.ignored:
        if v.flagged:
            typer.echo(f"  ignored verdict #{v.index + 1}: {v.reason}")
