"""The API key cache: answers from memory within its TTL, honours revocation after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, SQLModel

from api.auth import KeyCache, add_user, revoke


@pytest.fixture
def session(tmp_path: object) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{tmp_path}/auth.db")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        yield s


def test_revoked_key_works_until_the_ttl_then_is_refused(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("api.auth.time.monotonic", lambda: clock[0])
    cache = KeyCache(30.0)
    issued = add_user(session, name="ana", role="supervisor")
    assert cache.authenticate(session, issued.token).name == "ana"
    revoke(session, issued.key_id)
    clock[0] += 29
    assert cache.authenticate(session, issued.token).name == "ana"  # still within the TTL
    clock[0] += 2
    assert cache.authenticate(session, issued.token) is None
    assert cache.authenticate(session, "tly_not-a-key") is None


def test_zero_ttl_looks_up_every_time(session: Session) -> None:
    cache = KeyCache(0)
    issued = add_user(session, name="bo", role="viewer")
    assert cache.authenticate(session, issued.token).name == "bo"
    revoke(session, issued.key_id)
    assert cache.authenticate(session, issued.token) is None
