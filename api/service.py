"""The running service wired end to end: events in, scored online, triaged into tickets.

:func:`create_service_app` is what ``tally serve`` runs. It opens the store from the
settings, fits the online scorer on the store's snapshot, and gives the app a worker that
turns pending ``FLAGS`` items into tickets:

- **Scoring.** Posted events are stored, answered, and queued as ``SCORE`` work; the
  worker scores them event by event, in arrival order, so ingest never waits on the
  scorer and a restart loses nothing. :class:`OnlineScorer` is fitted at start on
  everything stored. After
  ``TALLY_SCORER_REFIT_EVENTS`` new events a background thread fits a fresh scorer on a
  fresh snapshot (baselines, item master, closing balances), replays into it the events
  scored meanwhile that the snapshot missed, and swaps it in; scoring never waits for a fit.
  An empty store scores nothing until the first refit.
- **Grouping.** The worker waits ``TALLY_TRIAGE_SETTLE_S`` after claiming a flag, then
  claims every other pending flag and groups them all with the scorer's own incident rules
  (:meth:`scoring.Scorer.incidents`, the link keys and windows batch scoring uses), so
  flags of one problem that arrive close together become one ticket; flags of an incident
  whose ticket is still open join that ticket (:mod:`api.joining`), under the triage lock.
  Before grouping, the flags of a systemic pattern go to its systemic ticket, and after
  triage the site's open tickets fold again, as ``tally run`` folds them (one definition,
  :mod:`agents.folding`; the store's side in :mod:`api.folding`).
- **Triage.** Each incident runs through the agent graph on the service's checkpointer
  (:func:`api.triage.open_ticket`), over a :class:`tools.view.WarehouseView` rebuilt from
  the store whenever events arrived since the last one, with the reasoner the settings
  choose (:class:`agents.batch.TriageKit`, the same construction as ``tally run``). Ticket
  ids are a digest of the flagged transactions, so a re-claimed item reopens nothing.
- **Write-back.** A :class:`actions.wms_rest.RestWmsAdapter` when ``TALLY_WMS_URL`` is
  set; otherwise a :class:`actions.wms_recording.RecordingWms` that appends approved
  actions to ``DATA_DIR/write_back.jsonl`` (once per idempotency key).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import Session

from actions.audit import AuditLog
from actions.wms import WmsAdapter
from agents.batch import TriageKit
from agents.folding import split_systemic
from agents.graph import build_graph
from api.app import create_app
from api.approvals import ApprovalPolicy, action_value, required_role
from api.folding import fold_open, open_patterns, systemic_keys
from api.intake import FLAGS, SCORE, Intake
from api.joining import OpenFlags, join, skus_of
from api.learning import SiteLearning
from api.locks import held
from api.recounts import Recounts
from api.tickets import TicketRecord
from api.triage import open_ticket
from api.worker import WorkItem, WorkQueue, out_of_reach
from scoring import Scorer
from scoring.types import Flag, Incident
from warehouse.contract import Action
from warehouse.dataset import Dataset
from warehouse.settings import Settings, get_settings
from warehouse.sites import DEFAULT_SITE

log = logging.getLogger(__name__)

def open_store(settings: Settings) -> Any:
    """The warehouse store at the configured URL, migrated to the latest schema."""
    from warehouse.store import Store

    store = Store.open(settings.resolved_database_url())
    store.upgrade()
    return store


def open_wms(settings: Settings) -> WmsAdapter:
    """The REST adapter on ``TALLY_WMS_URL``, or the recording adapter in the data dir."""
    if settings.wms_url:
        from actions.wms_rest import RestWmsAdapter

        return RestWmsAdapter(settings=settings)
    from actions.wms_recording import RecordingWms

    return RecordingWms(settings.data_dir / "write_back.jsonl")


def last_seq(engine: Any) -> int:
    """The posting sequence number of the newest stored transaction (0 when none)."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM transactions"))
                   .scalar_one())


def service_incident_id(incident: Incident, site: str = DEFAULT_SITE) -> str:
    """A ticket id that names the flagged transactions, stable across re-runs and restarts.

    Another site's transactions may carry the same ids: a site other than the default one
    is part of the digest (the default site's ids are as they were before sites).
    """
    txns = "\n".join(sorted({f.txn_id for f in incident.flags} or set(incident.txn_ids)))
    named = txns if site == DEFAULT_SITE else f"site {site}\n{txns}"
    return "INC-" + hashlib.sha256(named.encode()).hexdigest()[:12]


def _txn_id(event: Any) -> str:
    return str(event["txn_id"] if isinstance(event, Mapping) else event.txn_id)


class OnlineScorer:
    """A fitted scorer shared by request threads and refit in the background.

    Args:
        store: the warehouse store (``snapshot()``).
        refit_events: refit after this many scored events (0: never).
        make: builds an unfitted scorer (``scoring.Scorer`` with defaults).
        snapshot: the store's snapshot for the first fit, when the caller already holds one.
    """

    def __init__(self, store: Any, *, refit_events: int = 0, make: type[Scorer] = Scorer,
                 snapshot: Dataset | None = None) -> None:
        self.store = store
        self.refit_events = refit_events
        self._make = make
        # the scorer's window of recent events is not thread-safe: one event at a time
        self._lock = threading.Lock()
        self._scorer: Scorer | None = None
        self._since_fit = 0
        self._meanwhile: list[Any] | None = None
        self._refitter: threading.Thread | None = None
        self.refit(snapshot)

    @property
    def fitted(self) -> bool:
        """Whether a scorer is in place (False on an empty store before the first refit)."""
        return self._scorer is not None

    def score_event(self, event: Any) -> list[Flag]:
        """Flags of one stored event (none before the first fit); may start a refit."""
        with self._lock:
            flags = self._scorer.score_event(event) if self._scorer is not None else []
            self._since_fit += 1
            if self._meanwhile is not None:
                self._meanwhile.append(event)
            elif self.refit_events and self._since_fit >= self.refit_events:
                self._meanwhile = []
                self._refitter = threading.Thread(target=self._refit_quietly,
                                                  name="tally-refit", daemon=True)
                self._refitter.start()
        return flags

    def incidents(self, flags: Sequence[Flag]) -> list[Incident]:
        """Group flags into incidents with the fitted scorer's rules."""
        with self._lock:
            scorer = self._scorer
        if scorer is None:
            raise RuntimeError("no scorer fitted yet: the store held no transactions")
        return scorer.incidents(flags)

    def batch_flags(self, data: Dataset) -> list[Flag]:
        """Flags of a whole dataset scored in batch by the fitted scorer."""
        with self._lock:
            scorer = self._scorer
        if scorer is None:
            raise RuntimeError("no scorer fitted yet: the store held no transactions")
        return scorer.score_batch(data).flags

    def refit(self, snapshot: Dataset | None = None) -> None:
        """Fit a fresh scorer on the store's snapshot (or the one given) and swap it in."""
        with self._lock:
            if self._meanwhile is None:
                self._meanwhile = []
            self._since_fit = 0
        try:
            data = snapshot if snapshot is not None else self.store.snapshot()
            fresh = self._make().fit(data) if len(data.transactions) else None
        except BaseException:
            with self._lock:
                self._meanwhile = None
            raise
        stored = set(data.transactions["txn_id"])
        with self._lock:
            if fresh is not None:
                for event in self._meanwhile or []:
                    if _txn_id(event) not in stored:
                        fresh.score_event(event)  # its flags were raised and queued already
                self._scorer = fresh
            self._meanwhile = None

    def wait_for_refit(self, timeout: float = 60.0) -> None:
        """Block until a background refit in progress has finished (tests, shutdown)."""
        thread = self._refitter
        if thread is not None:
            thread.join(timeout)

    def _refit_quietly(self) -> None:
        try:
            self.refit()
        except Exception:  # noqa: BLE001 - the old scorer keeps scoring; try again later
            log.exception("scorer refit failed")


class ServiceTriage:
    """The worker's triage callable: pending flags -> incidents -> tickets in the queue.

    Args:
        settings: decides the reasoner.
        store: the warehouse store (``engine``, ``snapshot()``).
        scorer: groups flags into incidents (an :class:`OnlineScorer`, or the workers'
            :class:`api.stream.scoring.StreamScorer`).
        wms: the write-back adapter the graph's write_back node holds.
        settle_s: wait this long after the first claimed flag before grouping.
        batch: most flag items grouped in one round.
    """

    def __init__(self, settings: Settings, *, store: Any, scorer: Any,
                 wms: WmsAdapter, settle_s: float = 0.0, batch: int = 1000) -> None:
        self.settings = settings
        self.store = store
        self.scorer = scorer
        self.wms = wms
        self.settle_s = settle_s
        self.batch = batch
        self.queue = WorkQueue(store.engine)
        self.audit = AuditLog(store.engine, settings=settings)
        self.intake = Intake(store=store, queue=self.queue, audit=self.audit, scorer=scorer)
        self.learning = SiteLearning(store, self.audit)
        self.recounts = Recounts(engine=store.engine, audit=self.audit, graph=self.graph,
                                 escalate_h=settings.recount_escalate_h, site=store.site)
        self._checkpointer: Any = None
        self._graph: Any = None
        self._kit: TriageKit | None = None
        self._seq = -1
        self._lock = threading.Lock()

    def graph_factory(self, checkpointer: Any, snapshot: Dataset | None = None) -> Any:
        """``create_app``'s graph factory: remember the checkpointer, build the graph on it."""
        self._checkpointer = checkpointer
        self._graph = None
        return self.graph(snapshot)

    def graph(self, snapshot: Dataset | None = None) -> Any:
        """The triage graph over a view of everything stored (rebuilt when events arrived).

        ``snapshot``: the store's current snapshot when the caller already holds one.
        """
        with self._lock:
            seq = last_seq(self.store.engine)
            if self._graph is None or seq != self._seq:
                data = snapshot if snapshot is not None else self.store.snapshot()
                self._kit = TriageKit.build(data, self.settings)
                self._graph = build_graph(reasoner=self._kit.reasoner, view=self._kit.view,
                                          wms=self.wms, checkpointer=self._checkpointer,
                                          features=self._kit.features,
                                          approver_role=self._approver_role)
                self._seq = seq
            return self._graph

    def _approver_role(self, action: Action) -> str:
        """The least role the approval rules require for ``action`` (for the explanation)."""
        assert self._kit is not None
        sku = action.params.get("sku")
        value = action_value(action, _unit_cost(self._kit, sku if isinstance(sku, str) else None))
        policy = ApprovalPolicy.from_settings(self.settings)
        return required_role(action, value=value, policy=policy).value

    def __call__(self, item: WorkItem) -> None:
        """Score a ``SCORE`` item; triage a ``FLAGS`` item with every flag pending by then."""
        if item.kind == SCORE:
            self.intake.score_pending(item)
            self.recounts.counts_arrived(item.payload["events"])
            self.recounts.escalate_overdue()
            return
        if item.kind != FLAGS:
            raise ValueError(f"no triage for work of kind {item.kind!r}")
        if self.settle_s:
            time.sleep(self.settle_s)
        more: list[WorkItem] = []
        while len(more) < self.batch - 1 and (
                other := self.queue.claim(kind=FLAGS, site=self.store.site)):
            more.append(other)
        try:
            self.open_tickets([item, *more])
        except Exception as exc:
            for other in more:
                self.queue.failed(other, f"{type(exc).__name__}: {exc}",
                                  counted=not out_of_reach(exc))
            raise
        for other in more:
            self.queue.done(other)

    def open_tickets(self, items: Sequence[WorkItem]) -> list[TicketRecord]:
        """Triage the items' flags (:meth:`open_flags`)."""
        return self.open_flags([Flag.model_validate(f) for it in items
                                for f in it.payload["flags"]])

    def open_flags(self, flags: list[Flag], on_ticket: Callable[[], None] | None = None
                   ) -> list[TicketRecord]:
        """Fold and group flags as ``tally run`` does: join open tickets, open the new ones.

        Flags of a systemic pattern go to its systemic ticket (:func:`api.folding.
        open_patterns`), the rest are grouped into incidents; an incident holding an open
        ticket's flags joins it, each other one opens a ticket; then the site's open tickets
        fold again (:func:`api.folding.fold_open`). Under the triage lock (one worker at a
        time on PostgreSQL), so an incident is opened once whichever worker sees it first,
        and its later flags join that ticket.
        """
        self.graph()
        assert self._kit is not None
        site = self.store.site
        with held(self.store.engine, f"triage:{site}"), Session(self.store.engine,
                                                                expire_on_commit=False) as session:
            known = OpenFlags(session, skus_of(flags), site)
            fresh = {f.txn_id for f in flags}
            flags = flags + [f for f in known.flags if f.txn_id not in fresh]
            rest, patterns = split_systemic(flags, systemic=systemic_keys(session, site))
            kit = self._kit
            parents = open_patterns(session, patterns, known=known, view=kit.view, site=site,
                                    audit=self.audit, unit_cost=lambda s: _unit_cost(kit, s))
            incidents, tickets = [], []
            for incident in self.scorer.incidents(rest) if rest else []:
                new = known.new_part(incident)
                owner = known.ticket_of(incident)
                if new is None:
                    continue
                if owner is not None:
                    tickets.append(join(session, owner, new, self.audit))
                else:
                    incidents.append(new)
            opened = self.open_incidents(incidents, on_ticket)
            return [*parents, *tickets, *opened,
                    *fold_open(session, view=kit.view, site=site, audit=self.audit)]

    def open_incidents(self, incidents: Sequence[Incident],
                       on_ticket: Callable[[], None] | None = None) -> list[TicketRecord]:
        """Open one ticket per incident (ids digest the flagged transactions, so once only)."""
        if not incidents:
            return []
        graph = self.graph()
        assert self._kit is not None
        incidents = self.learning.skip([inc.model_copy(update={
            "incident_id": service_incident_id(inc, self.store.site)}) for inc in incidents])
        opened = []
        with Session(self.store.engine, expire_on_commit=False) as session:
            for incident in incidents:
                opened.append(open_ticket(graph, session, incident=incident, audit=self.audit,
                                          unit_cost=_unit_cost(self._kit, incident.sku),
                                          site=self.store.site))
                if on_ticket is not None:
                    on_ticket()
        return opened


def _unit_cost(kit: TriageKit, sku: str | None) -> float | None:
    """The item master's cost of one each of ``sku``, None when unknown."""
    items = kit.view.items
    if sku is None or "unit_cost" not in items.columns or sku not in items.index:
        return None
    cost: Any = items.at[sku, "unit_cost"]  # a frame cell: a number, NaN or None
    return None if cost is None or cost != cost else float(cost)


def create_service_app(settings: Settings | None = None, *, store: Any = None,
                       wms: WmsAdapter | None = None, worker_poll_s: float = 0.5,
                       settle_s: float | None = None) -> FastAPI:
    """The Tally API with online scoring and a triage worker, as ``tally serve`` runs it.

    Args:
        settings: configuration (``get_settings()`` when None).
        store: the warehouse store (opened from the settings and migrated when None).
        wms: the write-back adapter (:func:`open_wms` when None).
        worker_poll_s: how often an idle worker looks for new flags.
        settle_s: the worker's grouping delay (``TALLY_TRIAGE_SETTLE_S`` when None).
    """
    cfg = settings or get_settings()
    store = store if store is not None else open_store(cfg)
    wms = wms if wms is not None else open_wms(cfg)
    scorer = OnlineScorer(store, refit_events=cfg.scorer_refit_events)
    triage = ServiceTriage(cfg, store=store, scorer=scorer, wms=wms,
                           settle_s=cfg.triage_settle_s if settle_s is None else settle_s)
    app = create_app(cfg, store=store, scorer=scorer, triage=triage,
                     graph_factory=triage.graph_factory, wms=wms, worker_poll_s=worker_poll_s,
                     defer_scoring=True)
    app.state.triage = triage
    app.state.learning = triage.learning
    app.state.recounts = triage.recounts
    return app
