"""Servers of a test's own, on loopback, that the test may kill and restart.

The machine's PostgreSQL, RabbitMQ and NATS servers are shared by every test (and every
developer) on it, so a test that restarts a server starts its own: a PostgreSQL cluster made
with ``initdb`` in a temporary folder, a RabbitMQ node of its own (own node name, ports,
config and Mnesia folder), or a NATS JetStream server with its own store folder, each on
free ports. Without the binaries the test skips with the reason, except under
``CI=true``, where it fails.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {what}")
    pytest.skip(f"{what} (set CI=true to require it)")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer on port {port} within {timeout:.0f} s")


class Nats:
    """A NATS JetStream server of the test's own, restartable on the same port and store."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("nats-server") is None:
            _missing("nats-server is not installed")
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["nats-server", "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd",
             str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, 20, "nats-server")

    def kill(self) -> None:
        """Kill -9 (the store folder keeps what JetStream had persisted)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def remove(self) -> None:
        """Kill it (the store folder is the test's own temporary one)."""
        self.kill()


RABBITMQ = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


class RabbitMq:
    """A RabbitMQ node of the test's own, restartable on the same ports and Mnesia folder.

    Its own node name, AMQP and distribution ports, config file (so the machine's
    ``/etc/rabbitmq/rabbitmq.conf`` listener is not taken), no plugins; as root it runs as
    the ``rabbitmq`` user, as the packaged ``rabbitmq-server`` does. Killed with -9 (the
    node's process group), it recovers its durable queues and persistent messages.
    """

    def __init__(self) -> None:
        if not RABBITMQ.exists():
            _missing(f"RabbitMQ is not installed ({RABBITMQ})")
        self.port, dist = free_port(), free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="tally-rmq-"))
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="rabbitmq")
            self._as = ["runuser", "-u", "rabbitmq", "--"]
        self.env = [f"{k}={v}" for k, v in {
            "HOME": self.folder, "RABBITMQ_NODENAME": f"tally{self.port}@localhost",
            "RABBITMQ_DIST_PORT": dist, "RABBITMQ_CONFIG_FILE": self.folder / "rabbitmq.conf",
            "RABBITMQ_MNESIA_BASE": self.folder / "mnesia",
            "RABBITMQ_LOG_BASE": self.folder / "log",
            "RABBITMQ_CONF_ENV_FILE": self.folder / "none.conf",
            "RABBITMQ_ENABLED_PLUGINS_FILE": self.folder / "plugins"}.items()]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self) -> None:
        with (self.folder / "out").open("ab") as out:
            self.proc = subprocess.Popen([*self._as, "env", *self.env, str(RABBITMQ)],
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        _wait_port(self.port, 120, "rabbitmq-server")

    def kill(self) -> None:
        """Kill -9 the node (the whole process group it was started in)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def remove(self) -> None:
        """Kill the node and delete its folder."""
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


class Postgres:
    """A PostgreSQL cluster of the test's own (``initdb`` in a temporary folder, trust auth).

    As root the cluster runs as the ``postgres`` user (PostgreSQL refuses root). Stopped
    with ``-m immediate``, it recovers from its WAL on the next start, as after a crash.
    """

    def __init__(self) -> None:
        self.bin = _pg_bin()
        if self.bin is None:
            _missing("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="tally-pg-"))
        self._as: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                _missing("running as root without runuser to start PostgreSQL as postgres")
            shutil.chown(self.folder, user="postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        assert self.bin is not None
        subprocess.run([*self._as, str(self.bin / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c shared_buffers=32MB -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"),
                  "-o", options, "-w", "-t", "60", "start")
        _wait_port(self.port, 30, "PostgreSQL")

    def crash(self) -> None:
        """Stop at once, without a checkpoint (``pg_ctl stop -m immediate``)."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        """Stop (if running) and delete the cluster."""
        try:
            self.crash()
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.folder, ignore_errors=True)
