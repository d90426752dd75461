"""The ``tally`` command line: one typer app, commands registered from their own modules."""

from __future__ import annotations

import typer

from warehouse.errors import UserError

__all__ = ["UserError", "app", "main"]

app = typer.Typer(
    name="tally",
    help="Tally keeps warehouse inventory records true.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def main() -> None:
    """Entry point: run the app and turn user errors into one-line messages."""
    import sys

    from rich.console import Console

    try:
        app()
    except UserError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {exc}")
        sys.exit(2)


from api.cli import (  # noqa: E402
    audit_app,
    consume_command,
    serve_command,
    triage_command,
    users_app,
)

app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.command("serve")(serve_command)
app.command("consume")(consume_command)
app.command("triage")(triage_command)

from warehouse.generator.command import generate_command  # noqa: E402

app.command("generate")(generate_command)

from warehouse.wms_sim.command import wms_sim_command  # noqa: E402

app.command("wms-sim")(wms_sim_command)

from agents.cli import demo_command, run_command  # noqa: E402

app.command("run")(run_command)
app.command("demo")(demo_command)

from warehouse.store.command import db_app, ingest_command, status_command  # noqa: E402

app.command("ingest")(ingest_command)
app.command("status")(status_command)
app.add_typer(db_app, name="db")

from evals.command import eval_command  # noqa: E402

app.command("eval")(eval_command)

from scoring.command import score_command  # noqa: E402

app.command("score")(score_command)

from scoring.count_plan_command import count_plan_command  # noqa: E402

app.command("count-plan")(count_plan_command)
