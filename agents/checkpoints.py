"""Checkpointers for the triage graph, allowed to restore exactly the state's own types.

SQLite (a file in the data dir) for the embedded store of one process; PostgreSQL (the
store's own database, ``langgraph-checkpoint-postgres``) when the store is PostgreSQL, so
any worker or API process resumes any paused ticket.

langgraph refuses (today: warns about) restoring types it was not told about; the state
holds pydantic models and enums from a handful of modules, listed here once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

if TYPE_CHECKING:
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.sqlite import SqliteSaver

from actions.decision import Decision
from actions.wms import WriteBackResult, WriteBackStatus
from agents.case import CaseFile, Classification, Explanation, ReasonerUsage
from agents.recount import CountResult
from agents.state import TicketState
from scoring.types import Flag, Incident
from warehouse.contract import (
    Action,
    ActionType,
    EvidenceItem,
    RootCause,
    Severity,
    Ticket,
    TicketKind,
    TicketStatus,
)

STATE_TYPES: tuple[type, ...] = (
    TicketState, Decision, CaseFile, Classification, Explanation, ReasonerUsage, Flag, Incident,
    Action, ActionType, EvidenceItem, RootCause, Severity, Ticket, TicketStatus,
    WriteBackResult, WriteBackStatus, CountResult, TicketKind,
)


_SETUP_LOCK = (0x7A11, 0x0C4E)
"""The advisory lock (two ints) the PostgreSQL checkpointer's table setup is done under."""


def _try_lock(conn: Any) -> bool:
    """Take the setup lock on ``conn`` if it is free (a dict-row connection)."""
    row: Any = conn.execute("SELECT pg_try_advisory_lock(%s, %s) AS got", _SETUP_LOCK).fetchone()
    return bool(row["got"])


def serializer() -> JsonPlusSerializer:
    """The checkpoint serializer, allow-listing :data:`STATE_TYPES`."""
    return JsonPlusSerializer(allowed_msgpack_modules=[(t.__module__, t.__name__)
                                                       for t in STATE_TYPES])


def memory_checkpointer() -> InMemorySaver:
    """An in-memory checkpointer (tests, batch runs that stop at the approval interrupt)."""
    return InMemorySaver(serde=serializer())


class DiscardingSaver(InMemorySaver):
    """A checkpointer that keeps nothing: for a batch whose threads are never resumed.

    The graph needs a checkpointer to stop at its approval interrupt; a batch run reads the
    interrupt's ticket from the run's own result and drops the thread, so serialising each
    ticket's state only to throw it away is skipped.
    """

    def put(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
            new_versions: ChannelVersions) -> RunnableConfig:
        """Keep nothing; the config of the checkpoint as if it were kept."""
        return {"configurable": {"thread_id": config["configurable"]["thread_id"],
                                 "checkpoint_ns": config["configurable"]["checkpoint_ns"],
                                 "checkpoint_id": checkpoint["id"]}}

    def put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]],
                   task_id: str, task_path: str = "") -> None:
        """Keep nothing."""


def discarding_checkpointer() -> DiscardingSaver:
    """A checkpointer for batch triage, which never resumes a thread (:class:`DiscardingSaver`)."""
    return DiscardingSaver(serde=serializer())


def sqlite_checkpointer(path: Path) -> SqliteSaver:
    """A SQLite checkpointer on ``path`` (tables created), the default for paused tickets."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    saver = SqliteSaver(sqlite3.connect(str(path), check_same_thread=False), serde=serializer())
    saver.setup()
    return saver


def postgres_checkpointer(url: str) -> PostgresSaver:
    """A PostgreSQL checkpointer on the store's database (tables created), for N workers.

    Args:
        url: the store's SQLAlchemy URL (``postgresql[+psycopg]://...``).

    The saver holds a small connection pool; close it with ``saver.conn.close()``. The
    tables are set up under an advisory lock: workers starting together on a new database
    would otherwise race for the same migration row and all but one fail.
    """
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    conninfo = "postgresql://" + url.split("://", 1)[1]
    # checked on checkout: a connection that died with a server restart is replaced
    pool = ConnectionPool(conninfo, min_size=1, max_size=4, open=True,
                          check=ConnectionPool.check_connection,
                          kwargs={"autocommit": True, "prepare_threshold": 0,
                                  "row_factory": dict_row})
    saver = PostgresSaver(pool, serde=serializer())  # type: ignore[arg-type]
    with pool.connection() as conn:
        # polled, not waited for: a session waiting on the lock would hold up the setup's
        # CREATE INDEX CONCURRENTLY, which waits for every running statement (a deadlock
        # PostgreSQL does not see: the lock and the index are on two connections)
        while not _try_lock(conn):
            time.sleep(0.2)
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", _SETUP_LOCK)
    return saver
