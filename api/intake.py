"""The one path events take into Tally, from HTTP or a message queue.

Validate each row against the contract (field types, then :mod:`api.intake_rules`: finite
numbers, signs per type, bounded text, no control characters), persist the valid ones
(idempotent on ``txn_id``: the same payload again is accepted and changes nothing, another
payload under a stored ``txn_id`` is a conflict), score them online and queue what the
scorer flags as pending work. Bad rows are named by index and field; nothing valid is lost
because a neighbour was bad.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError

from actions.audit import AuditKind, AuditLog
from api.errors import field_path
from api.intake_rules import RowError, contract_problems, find_conflicts, raw_problems
from api.metrics import ApiMetrics
from api.worker import WorkItem, WorkQueue
from warehouse.contract import TRANSACTION_COLUMNS, TYPES_WITH_DESTINATION, Transaction
from warehouse.sites import DEFAULT_SITE
from warehouse.store.small_append import SMALL_APPEND_ROWS

SCORE = "SCORE"
"""Pending-work kind of an accepted batch waiting to be scored (deferred scoring)."""
FLAGS = "FLAGS"
"""Pending-work kind of one transaction's flags waiting for triage."""


def flags_key(site: str, txn_id: str) -> str:
    """The dedup key of one transaction's flags (the default site's keys as before sites)."""
    return f"flags:{txn_id}" if site == DEFAULT_SITE else f"flags:{site}:{txn_id}"


class IngestResult(BaseModel):
    """What happened to a posted event or batch."""

    received: int
    accepted: int
    rejected: list[RowError]
    flagged: int


def validate_rows(rows: list[Any]) -> tuple[list[Transaction], list[RowError]]:
    """Contract-validate each row; bad rows are named by index and field, good ones kept."""
    good, bad = _validate_indexed(rows)
    return [txn for _, txn in good], bad


def _validate_indexed(rows: list[Any]) -> tuple[list[tuple[int, Transaction]], list[RowError]]:
    good: list[tuple[int, Transaction]] = []
    bad: list[RowError] = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            bad.append(RowError(index=index, field="row", message="must be a JSON object"))
            continue
        early = raw_problems(row)
        if early:
            bad.extend(RowError(index=index, field=f, message=m) for f, m in early)
            continue
        try:
            txn = Transaction.model_validate(row)
        except ValidationError as exc:
            bad.extend(
                RowError(index=index, field=field_path(tuple(e["loc"])), message=e["msg"])
                for e in exc.errors()
            )
            continue
        problem = _row_rule(txn)
        problems = [problem] if problem else contract_problems(txn)
        if problems:
            bad.extend(RowError(index=index, field=f, message=m) for f, m in problems)
            continue
        good.append((index, txn))
    return good, bad


def _row_rule(txn: Transaction) -> tuple[str, str] | None:
    """Contract rules beyond field types: a parsable, offset-aware ts; a destination."""
    try:
        ts = datetime.fromisoformat(txn.ts)
    except ValueError:
        return "ts", f"not an ISO-8601 time: {txn.ts!r}"
    if ts.tzinfo is None:
        return "ts", "needs a UTC offset, e.g. 2024-05-01T08:00:00+00:00"
    if txn.type in TYPES_WITH_DESTINATION and not txn.to_location:
        return "to_location", f"required for {txn.type.value}"
    return None


def to_records(txns: list[Transaction]) -> list[dict[str, Any]]:
    """Validated events as store rows (``ts`` an aware datetime), first of each txn_id."""
    seen: set[str] = set()
    records = []
    for txn in txns:
        if txn.txn_id in seen:
            continue
        seen.add(txn.txn_id)
        row = txn.model_dump(mode="json")
        row["ts"] = datetime.fromisoformat(row["ts"])
        records.append(row)
    return records


def to_frame(txns: list[Transaction]) -> pd.DataFrame:
    """Validated events as a transactions frame (contract columns first, ts as UTC)."""
    frame = pd.DataFrame(to_records(txns))
    extras = [c for c in frame.columns if c not in TRANSACTION_COLUMNS]
    frame = frame.reindex(columns=[*TRANSACTION_COLUMNS, *extras])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


class Intake:
    """Validates, persists and scores events; shared by the HTTP route and the queue consumer.

    Args:
        store: the warehouse store (``append_transactions(rows)``: a frame, or a list of
            row mappings for small batches, which skip pandas).
        queue: pending work, where flagged events wait for triage.
        audit: the audit log; every queued flag is recorded with its txn_id.
        scorer: online scorer (``score_event(txn) -> list[Flag]``); None scores nothing.
        metrics: Prometheus counters to update, if any.
        defer_scoring: queue each accepted batch as pending ``SCORE`` work instead of
            scoring it before answering (the worker then calls :meth:`score_pending`), so
            ingest speed does not wait on the scorer; ``flagged`` is then 0 in the answer.
    """

    def __init__(
        self,
        *,
        store: Any,
        queue: WorkQueue,
        audit: AuditLog,
        scorer: Any = None,
        metrics: ApiMetrics | None = None,
        defer_scoring: bool = False,
    ) -> None:
        self.store = store
        self.queue = queue
        self.audit = audit
        self.scorer = scorer
        self.metrics = metrics
        self.defer_scoring = defer_scoring

    def store_valid(self, rows: list[Any], *, defer: bool = False
                    ) -> tuple[list[Transaction], list[RowError]]:
        """Persist the valid rows (a stored txn_id again is a no-op); the good and the bad.

        ``defer``: queue the batch as ``SCORE`` work in the same transaction as the rows
        (the outbox: stored events are never left unscored by a crash in between).
        """
        indexed, bad = _validate_indexed(rows)
        indexed, conflicts = find_conflicts(getattr(self.store, "engine", None), indexed,
                                            getattr(self.store, "site", DEFAULT_SITE))
        bad = sorted([*bad, *conflicts], key=lambda e: e.index)
        good = [txn for _, txn in indexed]
        self._count("rejected", len({e.index for e in bad}))
        if good:
            small = len(good) < SMALL_APPEND_ROWS
            records = to_records(good) if small else to_frame(good)
            if defer:
                self.store.append_transactions(records, within=self._deferral(good))
            else:
                self.store.append_transactions(records)
            self._count("accepted", len(good))
        return good, bad

    def accept(self, rows: list[Any]) -> IngestResult:
        """Persist the valid rows, score them and report the bad ones by index and field."""
        good, bad = self.store_valid(rows, defer=self.defer_scoring)
        flagged = 0
        if good and not self.defer_scoring:
            flagged = self._score(good)
        return IngestResult(received=len(rows), accepted=len(good), rejected=bad,
                            flagged=flagged)

    def score_pending(self, item: WorkItem) -> int:
        """Score the events of a pending ``SCORE`` item (the worker's job); flags queued."""
        return self._score([Transaction.model_validate(e) for e in item.payload["events"]])

    def _deferral(self, txns: list[Transaction]) -> Callable[[Any], None]:
        """Queue the batch for scoring inside the append, once per set of txn_ids."""
        site = getattr(self.store, "site", DEFAULT_SITE)
        ids = "\n".join(t.txn_id for t in txns)
        ids = ids if site == DEFAULT_SITE else f"site {site}\n{ids}"

        def enqueue(writer: Any) -> None:
            self.queue.enqueue_within(
                writer, kind=SCORE, dedup_key="score:" + hashlib.sha256(ids.encode()).hexdigest(),
                payload={"site": site, "events": [t.model_dump(mode="json") for t in txns]},
                correlation_id=txns[0].txn_id, site=site)
        return enqueue

    def _score(self, txns: list[Transaction]) -> int:
        """Score each event online; queue (once per txn_id) and audit what is flagged."""
        if self.scorer is None:
            return 0
        flagged = 0
        for txn in txns:
            flags = self.scorer.score_event(txn)
            if not flags:
                continue
            payload = {"txn_id": txn.txn_id, "flags": [f.model_dump(mode="json") for f in flags]}
            site = getattr(self.store, "site", DEFAULT_SITE)
            if self.queue.enqueue(kind=FLAGS, dedup_key=flags_key(site, txn.txn_id),
                                  payload=payload, correlation_id=txn.txn_id, site=site):
                self.audit.append(AuditKind.FLAG, payload, correlation_id=txn.txn_id)
                flagged += 1
        if self.metrics is not None:
            self.metrics.flags.inc(flagged)
        return flagged

    def _count(self, outcome: str, n: int) -> None:
        if self.metrics is not None and n:
            self.metrics.events.labels(outcome).inc(n)
