"""``tally audit verify`` checks the audit chain; ``seal-legacy`` seals older-format records.

``tally audit seal-legacy`` is run once, after an upgrade, over the records an older version
hashed without the key (:mod:`actions.audit_legacy`).
"""

from __future__ import annotations

import typer

audit_app = typer.Typer(help="Check the audit chain.", no_args_is_help=True)
HEAD_HELP = ("the head hash the older version's `tally audit verify` printed, kept outside the "
             "database")


@audit_app.command("verify")
def audit_verify_command() -> None:
    """Walk the keyed audit chain and its anchored heads; exit 1 on any edit or rewind.

    Fails when a record was edited, deleted, reordered or rehashed without TALLY_AUDIT_KEY,
    or when the chain was cut back behind a head anchored in the data dir.
    """
    from rich.console import Console

    from actions.audit import AuditLog
    from api.db import open_engine

    console = Console()
    report = AuditLog(open_engine(require=("audit_log", "audit_head"))).verify()
    if report.ok:
        console.print(
            f"audit chain intact: {report.records} records, head {report.head_seq} "
            f"hash {report.head_hash}; {report.anchored} anchored head(s) in "
            f"{report.anchor_path} agree"
        )
        return
    console.print(f"[bold red]audit chain broken[/]: {len(report.problems)} problem(s)")
    for problem in report.problems:
        console.print(f"  record {problem.seq}: {problem.problem}")
    raise typer.Exit(1)


@audit_app.command("seal-legacy")
def audit_seal_legacy_command(
    head: str = typer.Option(..., "--head", help=HEAD_HELP),
    by: str = typer.Option(..., "--by", help="who seals (kept in the seal record)"),
) -> None:
    """Seal the chain's older-format records (plain SHA-256, before the chain was keyed).

    Run once after upgrading a database an older version wrote: `tally audit verify` then
    checks those records with their own format up to the sealed one, everything else with
    TALLY_AUDIT_KEY. Refused (exit 1) unless the older records end at --head.
    """
    from rich.console import Console

    from actions.audit import AuditLog
    from api.db import open_engine
    from warehouse.errors import UserError

    console = Console()
    try:
        seal = AuditLog(open_engine(require=("audit_log", "audit_head"))).seal_legacy(
            head_hash=head, by=by)
    except UserError as exc:
        console.print(f"[bold red]not sealed[/]: {exc}")
        raise typer.Exit(1) from exc
    console.print(f"sealed records 1-{seal.through_seq} ({seal.format}) at hash "
                  f"{seal.through_hash}")
