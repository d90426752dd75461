"""``tally users add|list|revoke``: users and their API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from warehouse.errors import UserError

users_app = typer.Typer(help="Manage users and their API keys.", no_args_is_help=True)


@users_app.command("add")
def users_add_command(
    name: Annotated[str, typer.Argument(help="user name, e.g. ana or ana@dc1")],
    role: Annotated[str, typer.Option(help="viewer, supervisor, controller or admin")] = "viewer",
) -> None:
    """Create a user with an API key; the key is printed once and never stored."""
    from sqlmodel import Session

    from api.auth import AuthError, add_user
    from api.db import prepare_database

    with Session(prepare_database()) as session:
        try:
            issued = add_user(session, name=name, role=role)
        except AuthError as exc:
            raise UserError(str(exc)) from exc
    typer.echo(f"created {issued.name} ({issued.role}), key id {issued.key_id}")
    typer.echo("API key (shown only now, keep it safe):")
    typer.echo(issued.token)


@users_app.command("list")
def users_list_command() -> None:
    """List users, their roles and the ids of their live keys."""
    from rich.console import Console
    from rich.table import Table
    from sqlmodel import Session

    from api.auth import list_users
    from api.db import prepare_database

    table = Table("name", "role", "active", "created", "key ids")
    with Session(prepare_database()) as session:
        for user in list_users(session):
            table.add_row(user.name, user.role.value, "yes" if user.active else "no",
                          user.created_at, " ".join(user.key_ids) or "-")
    Console().print(table)


@users_app.command("revoke")
def users_revoke_command(
    target: Annotated[str, typer.Argument(help="a user name (all their keys) or one key id")],
) -> None:
    """Revoke one key, or a user and all their keys."""
    from sqlmodel import Session

    from api.auth import AuthError, revoke
    from api.db import prepare_database

    with Session(prepare_database()) as session:
        try:
            revoked = revoke(session, target)
        except AuthError as exc:
            raise UserError(str(exc)) from exc
    typer.echo(f"revoked {len(revoked)} key(s): {' '.join(revoked) or '-'}")
