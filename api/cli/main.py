"""The ``tally`` command line: one typer app, one module per command group.

Each command module imports only typer at the top; the work (pandas, the scorer, the graph,
the service) is imported inside the command that runs it, so ``tally --help`` stays fast.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from api.cli import (
    audit,
    count_plan,
    data,
    evaluation,
    generate,
    learning,
    run,
    score,
    serve,
    tickets,
    users,
    wms_sim,
)
from warehouse.errors import UserError

__all__ = ["app", "main"]

app = typer.Typer(
    name="tally",
    help="Tally keeps warehouse inventory records true.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

app.command("ingest")(data.ingest_command)
app.command("status")(data.status_command)
app.add_typer(data.db_app, name="db")
app.command("score")(score.score_command)
app.command("count-plan")(count_plan.count_plan_command)
app.command("run")(run.run_command)
app.command("demo")(run.demo_command)
app.command("triage")(run.triage_command)
app.command("eval")(evaluation.eval_command)
app.command("serve")(serve.serve_command)
app.command("consume")(serve.consume_command)
app.add_typer(users.users_app, name="users")
app.add_typer(tickets.tickets_app, name="tickets")
app.add_typer(audit.audit_app, name="audit")
app.command("generate")(generate.generate_command)
app.command("wms-sim")(wms_sim.wms_sim_command)
app.add_typer(learning.resolutions_app, name="resolutions")
app.add_typer(learning.learning_app, name="learning")


def main() -> None:
    """Entry point: run the app and turn user errors into one-line messages."""
    try:
        app()
    except UserError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
