"""Users, roles and hashed API keys, and the tally users commands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

from api.auth import (
    ApiKey,
    AuthError,
    Role,
    User,
    UserSiteRole,
    add_user,
    authenticate,
    hash_token,
    issue_key,
    list_users,
    revoke,
)
from warehouse.errors import UserError


@pytest.fixture
def session(tmp_path: object) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{tmp_path}/auth.db")
    SQLModel.metadata.create_all(engine, tables=[User.__table__, ApiKey.__table__,  # type: ignore[attr-defined]
                                                 UserSiteRole.__table__])  # type: ignore[attr-defined]
    with Session(engine) as s:
        yield s


def test_key_authenticates_and_only_its_hash_is_stored(session: Session) -> None:
    issued = add_user(session, name="ana", role="supervisor")
    assert issued.token.startswith(f"tly_{issued.key_id}_")
    who = authenticate(session, issued.token)
    assert who is not None and (who.name, who.role, who.key_id) == ("ana", Role.SUPERVISOR,
                                                                    issued.key_id)
    stored = session.exec(text("SELECT key_hash FROM api_key")).all()  # type: ignore[call-overload]
    assert stored == [(hash_token(issued.token),)]
    dump = "\n".join(session.connection().connection.driver_connection.iterdump())
    assert issued.token not in dump


@pytest.mark.parametrize(
    "mangle",
    [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: t.replace("tly_", "tlx_"),
     lambda t: "", lambda t: "tly_000000000000_" + "x" * 43, lambda t: t[:20]],
    ids=["wrong-secret", "wrong-prefix", "empty", "unknown-id", "truncated"],
)
def test_bad_tokens_are_refused(session: Session, mangle: object) -> None:
    issued = add_user(session, name="ana", role="admin")
    assert authenticate(session, mangle(issued.token)) is None  # type: ignore[operator]


def test_revoke_by_key_id_and_by_name(session: Session) -> None:
    first = add_user(session, name="bo", role="controller")
    second = issue_key(session, name="bo")
    assert revoke(session, first.key_id) == [first.key_id]
    assert authenticate(session, first.token) is None
    assert authenticate(session, second.token) is not None
    assert revoke(session, "bo") == [second.key_id]
    assert authenticate(session, second.token) is None
    with pytest.raises(AuthError, match="no active user"):
        issue_key(session, name="bo")
    with pytest.raises(AuthError, match="no user or key id"):
        revoke(session, "nobody")


def test_bad_user_requests(session: Session) -> None:
    add_user(session, name="cy", role="viewer")
    with pytest.raises(AuthError, match="already exists"):
        add_user(session, name="cy", role="viewer")
    with pytest.raises(AuthError, match="unknown role 'boss'"):
        add_user(session, name="dee", role="boss")
    with pytest.raises(AuthError, match="bad user name"):
        add_user(session, name="a b; drop", role="viewer")


def test_list_users_shows_live_key_ids_only(session: Session) -> None:
    a = add_user(session, name="zed", role="viewer")
    b = add_user(session, name="amy", role="admin")
    revoke(session, a.key_id)
    listed = list_users(session)
    assert [(u.name, u.role, u.key_ids) for u in listed] == [
        ("amy", Role.ADMIN, [b.key_id]), ("zed", Role.VIEWER, []),
    ]


def test_role_order() -> None:
    assert Role.ADMIN.at_least(Role.CONTROLLER) and Role.CONTROLLER.at_least(Role.SUPERVISOR)
    assert not Role.VIEWER.at_least(Role.SUPERVISOR)
    assert not Role.SUPERVISOR.at_least(Role.CONTROLLER)


def test_users_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from api.cli.main import app

    monkeypatch.setenv("TALLY_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "eve", "--role", "supervisor"])
    assert added.exit_code == 0, added.output
    token = next(w for w in added.output.split() if w.startswith("tly_"))
    listed = runner.invoke(app, ["users", "list"])
    assert listed.exit_code == 0 and "eve" in listed.output and "supervisor" in listed.output
    assert token not in listed.output
    bad = runner.invoke(app, ["users", "add", "eve", "--role", "supervisor"])
    assert isinstance(bad.exception, UserError) and "already exists" in str(bad.exception)
    revoked = runner.invoke(app, ["users", "revoke", "eve"])
    assert revoked.exit_code == 0 and "revoked 1 key" in revoked.output
