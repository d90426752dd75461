"""One holder at a time across workers: a PostgreSQL advisory lock, a thread lock on SQLite.

SQLite is the embedded store of one process, so a lock per name in the process is enough
there; on PostgreSQL every worker process (on any machine) contends for the same
session-level advisory lock, held on a connection of its own for the duration.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

_NAMESPACE = 0x7A11  # first key of the two-int advisory lock: "Tally"
_local: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _key(name: str) -> int:
    """A signed 32-bit key for ``name`` (the second int of the advisory lock)."""
    value = zlib.crc32(name.encode())
    return value - (1 << 32) if value >= 1 << 31 else value


@contextmanager
def held(engine: Engine, name: str, *, wait: bool = True) -> Iterator[bool]:
    """Hold the lock ``name`` for the block; yields False when ``wait`` is off and it is taken.

    Args:
        engine: the store's database (PostgreSQL: an advisory lock; otherwise in-process).
        name: what is locked, e.g. ``refit:SITE`` or ``triage:SITE``.
        wait: block until the lock is free (True) or give up at once (False).
    """
    if engine.dialect.name != "postgresql":
        with _local_guard:
            lock = _local.setdefault(name, threading.Lock())
        got = lock.acquire(blocking=wait)
        try:
            yield got
        finally:
            if got:
                lock.release()
        return
    params = {"ns": _NAMESPACE, "key": _key(name)}
    with engine.connect() as conn:
        if wait:
            conn.execute(text("SELECT pg_advisory_lock(:ns, :key)"), params)
            got = True
        else:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"),
                                    params).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), params)
                conn.commit()
