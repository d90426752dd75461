"""The service's learning from verdicts: stored resolutions plus its own decided tickets.

Verdicts come from three places: imported resolution logs (``tally resolutions import``),
``POST /v1/resolutions``, and the service's decisions (an approved or written-back ticket is
CONFIRMED with its root cause and action; a rejected one is a FALSE_ALARM, the reason as its
note). :class:`SiteLearning` fits :class:`scoring.learning.Learner` on them over the flags
batch scoring raises on the store's snapshot, writes every learned change (a rule learned,
dropped, undone or restored) to the audit chain, and answers which incidents are the site's
normal practice. Learning never writes to the WMS, approves, or reads a note.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from sqlmodel import Session, col, select

from actions.audit import AuditKind, AuditLog
from api.tickets import TicketEvent, TicketRecord
from scoring import Scorer
from scoring.learning import Learned, Learner, Suppression
from scoring.types import Incident
from warehouse.contract import ActionType, Resolution, RootCause, TicketStatus, Verdict
from warehouse.errors import UserError
from warehouse.sites import DEFAULT_SITE
from warehouse.store.verdicts import (
    add_resolutions,
    redo_rule,
    stored_resolutions,
    undo_rule,
    undone_rules,
)

log = logging.getLogger(__name__)

CONFIRMING = frozenset({TicketStatus.APPROVED.value, TicketStatus.WRITTEN_BACK.value,
                        TicketStatus.WRITE_BACK_FAILED.value})


def decision_verdicts(engine: Any, site: str = DEFAULT_SITE) -> list[Resolution]:
    """Verdicts of the service's decisions at ``site``: approved CONFIRMED, rejected FALSE_ALARM."""
    with Session(engine) as session:
        records = session.exec(select(TicketRecord).where(
            TicketRecord.site == site,
            col(TicketRecord.status).in_([*CONFIRMING, TicketStatus.REJECTED.value]))).all()
        reasons = {e.ticket_id: str(e.detail.get("comment") or e.detail.get("reason") or "")
                   for e in session.exec(select(TicketEvent).where(
                       TicketEvent.kind == "REJECTED")).all()}
    out = []
    for r in records:
        confirmed = r.status in CONFIRMING
        out.append(Resolution(
            txn_ids=r.txn_ids, verdict=Verdict.CONFIRMED if confirmed else Verdict.FALSE_ALARM,
            root_cause=RootCause(r.root_cause) if confirmed else None,
            action=ActionType(r.action["type"]) if confirmed else None,
            decided_at=r.decided_at, decided_by=r.decided_by, ticket_id=r.ticket_id,
            note=(reasons.get(r.ticket_id) or None) if not confirmed else None))
    return out


class SiteLearning:
    """What this site's verdicts taught, kept fresh for the service.

    Args:
        store: the site's warehouse store (``engine``, ``site``, ``snapshot()``).
        audit: the audit chain every learned change is written to.
    """

    def __init__(self, store: Any, audit: AuditLog) -> None:
        self.store = store
        self.site: str = store.site
        self.audit = audit
        self._lock = threading.Lock()
        self._learner: Learner | None = None
        self._verdicts: list[Resolution] = []
        self._known: dict[str, bool] = {}
        self._stamp: tuple[int, ...] | None = None
        self.suppressed: dict[str, list[str]] = {}
        """rule id -> incidents the service did not open because of it (since start)."""
        self.held: dict[str, Suppression] = {}
        """incident id -> the rules that call it normal and the guards that opened it anyway
        (since start)."""

    def verdicts(self) -> list[Resolution]:
        """Every verdict: stored ones, then the service's decisions."""
        return [*stored_resolutions(self.store.engine, site=self.site),
                *decision_verdicts(self.store.engine, self.site)]

    def record(self, resolutions: Sequence[Resolution], *, source: str, by: str) -> int:
        """Store verdicts, audit the import, relearn."""
        n = add_resolutions(self.store.engine, resolutions, source=source, site=self.site)
        self.audit.append(AuditKind.LEARNING, {"event": "verdicts_recorded", "source": source,
                                               "by": by, "count": n})
        self.refresh()
        return n

    def refresh(self) -> Learner | None:
        """Relearn from every verdict over the store's current flags; audit what changed."""
        verdicts = self.verdicts()
        data = self.store.snapshot() if verdicts else None
        if data is None or data.transactions.empty:
            with self._lock:
                self._learner, self._verdicts = None, verdicts
            return None
        try:
            flags = Scorer().fit(data).score_batch(data).flags
        except Exception:  # noqa: BLE001 - learning must never take the service down
            log.exception("learning: scoring the store's snapshot failed; keeping what was "
                          "learned before")
            return self._learner
        learner = Learner().fit(verdicts, flags, data,
                                undone=undone_rules(self.store.engine, site=self.site))
        with self._lock:
            before, self._learner, self._verdicts = self._known, learner, verdicts
            self._known = {r.rule_id: r.active for r in learner.learned_.rules}
        self._audit_changes(before, learner.learned_)
        return learner

    def _audit_changes(self, before: dict[str, bool], learned: Learned) -> None:
        for rule in learned.rules:
            if rule.rule_id not in before:
                self.audit.append(AuditKind.LEARNING, {
                    "event": "rule_learned", "rule_id": rule.rule_id, "active": rule.active,
                    "rule": rule.model_dump(mode="json"), "says": rule.describe()},
                    correlation_id=rule.rule_id)
        for rid in set(before) - {r.rule_id for r in learned.rules}:
            self.audit.append(AuditKind.LEARNING, {"event": "rule_dropped", "rule_id": rid},
                              correlation_id=rid)

    def refresh_if_stale(self) -> None:
        """Relearn when verdicts, decisions or undos changed since the last fit."""
        engine = self.store.engine
        with Session(engine) as session:
            stamp = (len(session.exec(select(TicketRecord.ticket_id).where(
                TicketRecord.site == self.site,
                col(TicketRecord.status).in_([*CONFIRMING, TicketStatus.REJECTED.value]))
            ).all()), len(stored_resolutions(engine, site=self.site)),
                len(undone_rules(engine, site=self.site)))
        if stamp != self._stamp:
            self.refresh()
            self._stamp = stamp

    def skip(self, incidents: Sequence[Incident]) -> list[Incident]:
        """The incidents to open; those the learned rules call normal practice are left out.

        Each one left out is audited with the rules that matched, and so is each one a
        guardrail opens though rules match it (:attr:`held`).
        """
        self.refresh_if_stale()
        found = self.suppressions(incidents)
        kept = []
        for inc in incidents:
            sup = found.get(inc.incident_id)
            if sup is None or sup.held:
                kept.append(inc)
                if sup is not None:
                    self.held[inc.incident_id] = sup
                    self.audit.append(AuditKind.LEARNING, {
                        "event": "incident_held", "txn_ids": inc.txn_ids,
                        "rule_ids": sup.rule_ids, "guards": sup.guards},
                        correlation_id=inc.incident_id)
                continue
            for rid in sup.rule_ids or ["resolved"]:
                self.suppressed.setdefault(rid, []).append(inc.incident_id)
            self.audit.append(AuditKind.LEARNING, {
                "event": "incident_suppressed", "txn_ids": inc.txn_ids,
                "rule_ids": sup.rule_ids, "reason": sup.reason or "already resolved"},
                correlation_id=inc.txn_ids[0] if inc.txn_ids else None)
        return kept

    def learned(self) -> Learned:
        """The current learned state (fitted on first use)."""
        learner = self._learner or self.refresh()
        return learner.learned_ if learner is not None else Learned(
            verdicts=len(self._verdicts))

    def suppressions(self, incidents: Iterable[Incident]) -> dict[str, Suppression]:
        """Incidents the learned rules call this site's normal practice."""
        learner = self._learner
        if learner is None:
            return {}
        return learner.suppressions(incidents, self._verdicts)

    def undo(self, rule_id: str, *, by: str, reason: str = "") -> Learned:
        """Switch a learned rule off (admin); audited.

        Raises:
            UserError: no learned rule has this id.
        """
        rule = self.learned().rule(rule_id)
        if rule is None:
            raise UserError(f"no learned rule {rule_id}")
        if undo_rule(self.store.engine, rule_id=rule_id, pattern=rule.pattern, by=by,
                     reason=reason, site=self.site):
            self.audit.append(AuditKind.LEARNING, {
                "event": "rule_undone", "rule_id": rule_id, "pattern": rule.pattern,
                "by": by, "reason": reason}, correlation_id=rule_id)
        self.refresh()
        return self.learned()

    def redo(self, rule_id: str, *, by: str) -> Learned:
        """Withdraw an undo (admin); audited."""
        if redo_rule(self.store.engine, rule_id=rule_id, site=self.site):
            self.audit.append(AuditKind.LEARNING, {"event": "rule_restored",
                                                   "rule_id": rule_id, "by": by},
                              correlation_id=rule_id)
        self.refresh()
        return self.learned()
