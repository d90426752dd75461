"""``tally users add|grant|list|revoke``: users, roles (everywhere or per site), API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from warehouse.errors import UserError

users_app = typer.Typer(help="Manage users and their API keys.", no_args_is_help=True)


@users_app.command("add")
def users_add_command(
    name: Annotated[str, typer.Argument(help="user name, e.g. ana or ana@dc1")],
    role: Annotated[str, typer.Option(help="viewer, supervisor, controller or admin")] = "viewer",
    site: Annotated[list[str] | None, typer.Option(
        "--site", help="the role holds at this site only (repeat for several); "
                       "none: at every site")] = None,
) -> None:
    """Create a user with an API key; the key is printed once and never stored."""
    from sqlmodel import Session

    from api.auth import AuthError, add_user
    from api.db import prepare_database

    with Session(prepare_database()) as session:
        try:
            issued = add_user(session, name=name, role=role, sites=site or ())
        except AuthError as exc:
            raise UserError(str(exc)) from exc
    where = f"at {', '.join(sorted(issued.sites))}" if issued.sites else "at every site"
    typer.echo(f"created {issued.name} ({issued.role} {where}), key id {issued.key_id}")
    typer.echo("API key (shown only now, keep it safe):")
    typer.echo(issued.token)


@users_app.command("grant")
def users_grant_command(
    name: Annotated[str, typer.Argument(help="an active user")],
    site: Annotated[str, typer.Option("--site", help="the site")],
    role: Annotated[str, typer.Option(help="viewer, supervisor, controller or admin")],
) -> None:
    """Give a user a role at one site; from then on they see only the sites granted."""
    from sqlmodel import Session

    from api.auth import AuthError, grant_site
    from api.db import prepare_database

    with Session(prepare_database()) as session:
        try:
            roles = grant_site(session, name=name, site=site, role=role)
        except AuthError as exc:
            raise UserError(str(exc)) from exc
    typer.echo(f"{name}: " + ", ".join(f"{s} {r.value}" for s, r in sorted(roles.items())))


@users_app.command("list")
def users_list_command() -> None:
    """List users, their roles and the ids of their live keys."""
    from rich.console import Console
    from rich.table import Table
    from sqlmodel import Session

    from api.auth import list_users
    from api.db import prepare_database

    table = Table("name", "role", "sites", "active", "created", "key ids")
    with Session(prepare_database()) as session:
        for user in list_users(session):
            sites = ", ".join(f"{s} {r.value}" for s, r in sorted(user.sites.items())) \
                if user.sites else "all"
            table.add_row(user.name, user.role.value, sites, "yes" if user.active else "no",
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
