"""Group commit: small appends from concurrent callers share one transaction.

Each caller queues its job (rows, and what else it writes in the same transaction, e.g.
the scoring queue's outbox row) and takes the commit turn; the caller that gets the turn
writes every job queued by then in one transaction, each inside a savepoint of its own
(a job that fails rolls back alone and its caller gets the error; a job alone needs none),
and commits once. A
caller whose job an earlier turn already committed just returns. Alone, a caller commits
its own job at once; under load one commit (and, on SQLite, one write lock instead of a
wait on the busy timeout per request) serves many requests. Every caller returns only
after its job is committed, so an acknowledged event is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from warehouse.store.bulk import BulkWriter

Write = Callable[[BulkWriter, Sequence[Mapping[str, Any]]], int]
"""Writes a job's rows inside an open transaction; the rows stored."""
Within = Callable[[BulkWriter], None]


@dataclass
class _Job:
    rows: Sequence[Mapping[str, Any]]
    within: Within | None
    stored: int = 0
    error: BaseException | None = None
    done: bool = False


class GroupCommit:
    """Commits queued small appends together (one per store).

    Args:
        open_writer: a new writer on the store's database.
        write: stores one job's rows in the writer's open transaction.
    """

    def __init__(self, open_writer: Callable[[], BulkWriter], write: Write) -> None:
        self._open_writer = open_writer
        self._write = write
        self._queued: list[_Job] = []
        self._queue_lock = threading.Lock()
        self._turn = threading.Lock()

    def append(self, rows: Sequence[Mapping[str, Any]], within: Within | None) -> int:
        """Store ``rows`` (and run ``within``) in a committed transaction; rows stored.

        Raises:
            Exception: what writing this job raised (other jobs of its group still commit),
                or what the group's commit raised.
        """
        job = _Job(rows, within)
        with self._queue_lock:
            self._queued.append(job)
        with self._turn:
            if not job.done:
                with self._queue_lock:
                    group, self._queued = self._queued, []
                self._commit(group)
        if job.error is not None:
            raise job.error
        return job.stored

    def _commit(self, group: list[_Job]) -> None:
        writer = self._open_writer()
        failed = True
        try:
            writer.begin(bulk=False)
            if len(group) == 1:  # alone: its failure rolls the transaction back, no savepoint
                self._write_job(writer, group[0])
            else:
                for number, job in enumerate(group):
                    self._run(writer, job, f"tally_job_{number}")
            writer.commit()
            failed = False
        except BaseException as error:
            for job in group:
                job.error = job.error or error
            raise
        finally:
            writer.close(failed=failed)
            for job in group:
                job.done = True

    def _run(self, writer: BulkWriter, job: _Job, savepoint: str) -> None:
        """One job inside its own savepoint: its failure undoes its writes alone."""
        writer.raw.execute(f"SAVEPOINT {savepoint}")
        try:
            self._write_job(writer, job)
        except Exception as error:  # noqa: BLE001 - handed to the job's caller
            writer.raw.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
            job.error = error
        writer.raw.execute(f"RELEASE SAVEPOINT {savepoint}")

    def _write_job(self, writer: BulkWriter, job: _Job) -> None:
        job.stored = self._write(writer, job.rows)
        if job.within is not None:
            job.within(writer)
