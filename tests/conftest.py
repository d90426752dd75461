"""Shared fixtures: no network escapes, a throwaway PostgreSQL database, small datasets."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from agents.reasoners.openai_compat import forget_json_modes
from warehouse.settings import get_settings

PG_ADMIN_URL = os.environ.get("TALLY_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    """Allow loopback and unix sockets only: a test that reaches the internet fails."""
    if self.family == socket.AF_UNIX:
        return _real_connect(self, address)
    host = address[0] if isinstance(address, tuple) else str(address)
    if host in ("127.0.0.1", "::1", "localhost") or str(host).startswith("127."):
        return _real_connect(self, address)
    raise RuntimeError(f"test tried to reach the network: {address!r}")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[None]:
    """Every test gets its own data dir, no LLM unless it sets one, no endpoint's step-down."""
    for key in list(os.environ):
        if key.startswith("TALLY_") and key != "TALLY_TEST_PG_ADMIN":
            monkeypatch.delenv(key)
    monkeypatch.setenv("TALLY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TALLY_ENV", "test")
    get_settings.cache_clear()
    forget_json_modes()
    yield
    get_settings.cache_clear()
    forget_json_modes()


def _pg_admin_connection() -> object | None:
    try:
        import psycopg

        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception:  # noqa: BLE001 - any failure means "no server here"
        return None


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards.

    Skips with a reason when no server answers, except under CI=true where it must run.
    """
    conn = _pg_admin_connection()
    if conn is None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL does not answer at {PG_ADMIN_URL}")
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL} (set CI=true to require it)")
    name = f"tally_test_{uuid.uuid4().hex[:12]}"
    with conn:  # type: ignore[attr-defined]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    finally:
        conn = _pg_admin_connection()
        if conn is not None:
            with conn:  # type: ignore[attr-defined]
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]


AMQP_URL = os.environ.get("TALLY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture
def amqp_url() -> str:
    """The RabbitMQ broker for queue tests (each test declares and deletes its own queues).

    Skips with a reason when no broker answers, except under CI=true where it must run.
    """
    host_port = AMQP_URL.split("@", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host, int(port or 5672)), timeout=3):
            pass
    except OSError:
        if IN_CI:
            pytest.fail(f"CI=true but RabbitMQ does not answer at {host_port}")
        pytest.skip(f"no RabbitMQ broker answers at {host_port} (set CI=true to require it)")
    return AMQP_URL


NATS_URL = os.environ.get("TALLY_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture
def nats_url() -> str:
    """The NATS JetStream server for queue tests (each test makes and deletes its own stream).

    Skips with a reason when no server answers, except under CI=true where it must run.
    """
    host, _, port = NATS_URL.split("://", 1)[-1].partition(":")
    try:
        with socket.create_connection((host, int(port or 4222)), timeout=3):
            pass
    except OSError:
        if IN_CI:
            pytest.fail(f"CI=true but NATS does not answer at {host}:{port}")
        pytest.skip(f"no NATS server answers at {host}:{port} (set CI=true to require it)")
    return NATS_URL
