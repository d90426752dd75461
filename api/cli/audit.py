"""``tally audit verify``: check the audit chain end to end."""

from __future__ import annotations

import typer

audit_app = typer.Typer(help="Check the audit chain.", no_args_is_help=True)


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
