"""``tally audit verify``: check the audit chain end to end."""

from __future__ import annotations

import typer

audit_app = typer.Typer(help="Check the audit chain.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify_command() -> None:
    """Walk the audit chain; exit 1 if any record was edited, deleted or reordered."""
    from rich.console import Console

    from api.db import open_engine
    from warehouse.audit import AuditLog

    console = Console()
    report = AuditLog(open_engine(require=("audit_log", "audit_head"))).verify()
    if report.ok:
        console.print(
            f"audit chain intact: {report.records} records, head {report.head_seq} "
            f"hash {report.head_hash}"
        )
        return
    console.print(f"[bold red]audit chain broken[/]: {len(report.problems)} problem(s)")
    for problem in report.problems:
        console.print(f"  record {problem.seq}: {problem.problem}")
    raise typer.Exit(1)
