"""The service: ``create_app()`` builds the FastAPI app; nothing is opened at import time.

The lifespan opens the store (or takes the one passed in), prepares the service tables,
and starts the background worker when a triage callable is given. Seams for later stages:

- ``scorer``: anything with ``score_event(Transaction) -> list[Flag]``; posted events are
  scored online and their flags queued as pending work (kind ``FLAGS``).
- ``triage``: a :data:`api.worker.Triage` callable that takes one pending-work item; the
  agent graph plugs in here (e.g. ``lambda item: graph.invoke(...)``).
- ``graph_factory``: builds the compiled agent graph around the checkpointer the lifespan
  opens (the PostgreSQL store, or a SQLite file in the data dir), so decisions resume paused
  threads after restarts.
- the write-back worker (:class:`api.writeback.WriteBackRunner`) always runs: on start it
  takes over the approved write-backs a crashed process left in the outbox.
- ``wms``: the write-back adapter; a :class:`actions.wms_rest.RestWmsAdapter` on
  ``TALLY_WMS_URL`` when None and that is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from actions.audit import AuditLog
from actions.wms import WmsAdapter
from api.auth import KeyCache
from api.chat.llm import LlmChat
from api.db import SERVICE_TABLES
from api.errors import API_ERRORS, error_responses, install_error_handlers
from api.intake import Intake
from api.metrics import ApiMetrics, MeasureRequests
from api.recounts import Recounts
from api.routes import (
    chat,
    count_plan,
    decisions,
    health,
    items,
    kpis,
    learning,
    recounts,
    tickets,
    transactions,
)
from api.web import install_web_ui
from api.worker import Triage, Worker, WorkQueue
from api.writeback import WriteBackRunner
from warehouse.settings import Settings, get_settings

GraphFactory = Callable[[Any], Any]
"""Builds the compiled agent graph around a LangGraph checkpointer."""


def _open_store(settings: Settings) -> Any:
    """The warehouse store at the configured URL, migrated to the latest schema."""
    from warehouse.store import Store

    store = Store.open(settings.resolved_database_url())
    store.upgrade()
    return store


def open_checkpointer(settings: Settings, stack: ExitStack) -> Any:
    """The graph's checkpointer, set up once, closed on exit.

    The store's database when that is PostgreSQL (shared by every process); otherwise a
    SQLite file in the data dir.
    """
    from agents.checkpoints import postgres_checkpointer, sqlite_checkpointer

    url = settings.resolved_database_url()
    saver: Any = postgres_checkpointer(url) if url.startswith("postgresql") else \
        sqlite_checkpointer(settings.data_dir / "checkpoints.sqlite")
    stack.callback(saver.conn.close)
    return saver


def _open_wms(settings: Settings, stack: ExitStack) -> WmsAdapter | None:
    """A REST adapter on the configured WMS URL, or None when none is configured."""
    if not settings.wms_url:
        return None
    from actions.wms_rest import RestWmsAdapter

    adapter = RestWmsAdapter(settings=settings)
    stack.callback(adapter.close)
    return adapter


def _open_chat(settings: Settings) -> LlmChat | None:
    """The LLM chat on the configured endpoint, or None (the offline chat answers)."""
    if not (settings.llm_base_url and settings.llm_model):
        return None
    from agents.reasoners.client import make_client

    return LlmChat(make_client(settings), settings.llm_model, max_calls=settings.llm_max_calls,
                   max_tokens=settings.llm_completion_tokens)


def create_app(
    settings: Settings | None = None,
    *,
    store: Any = None,
    scorer: Any = None,
    triage: Triage | None = None,
    graph_factory: GraphFactory | None = None,
    wms: WmsAdapter | None = None,
    worker_poll_s: float = 0.5,
    defer_scoring: bool = False,
    worker_kind: str | None = None,
) -> FastAPI:
    """Build the Tally API.

    Args:
        settings: configuration (``get_settings()`` when None).
        store: the warehouse store (``append_transactions(frame)``, ``engine``); opened
            from the settings in the lifespan when None.
        scorer: online scorer with ``score_event(txn) -> list[Flag]``; no online scoring
            when None.
        triage: what the background worker does with each pending item; no worker when None
            (items wait in the store until a server with a triage callable runs).
        graph_factory: builds the agent graph around the lifespan's checkpointer; no graph
            (write-backs go through :func:`actions.write_back.write_back` directly) when None.
        wms: the WMS write-back adapter (from ``TALLY_WMS_URL`` when None).
        worker_poll_s: how often an idle worker looks for new items.
        defer_scoring: posted events are queued for scoring (``SCORE`` work, which the
            ``triage`` callable must handle) instead of scored before the answer.
        worker_kind: the background worker takes only items of this kind (all when None).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or get_settings()
        opened = store if store is not None else _open_store(cfg)
        engine = opened.engine
        SERVICE_TABLES[0].metadata.create_all(engine, tables=SERVICE_TABLES)
        app.state.settings = cfg
        app.state.key_cache = KeyCache(cfg.api_key_cache_s)
        app.state.store = opened
        app.state.engine = engine
        app.state.scorer = scorer
        app.state.audit = AuditLog(engine, settings=cfg)
        app.state.queue = WorkQueue(engine)
        app.state.intake = Intake(store=opened, queue=app.state.queue, audit=app.state.audit,
                                  scorer=scorer, metrics=app.state.metrics,
                                  defer_scoring=defer_scoring)
        with ExitStack() as stack:
            app.state.graph = graph_factory(open_checkpointer(cfg, stack)) if graph_factory \
                else None
            app.state.wms = wms if wms is not None else _open_wms(cfg, stack)
            app.state.write_back = WriteBackRunner(
                engine=engine, wms=app.state.wms, graph=app.state.graph, audit=app.state.audit,
                lease_s=cfg.write_back_lease_s)
            app.state.write_back.start(poll_s=max(worker_poll_s, 1.0))  # resumes crashed ones
            stack.callback(app.state.write_back.stop)
            if app.state.graph is not None and getattr(app.state, "recounts", None) is None:
                app.state.recounts = Recounts(engine=engine, audit=app.state.audit,
                                              graph=lambda: app.state.graph,
                                              escalate_h=cfg.recount_escalate_h)
            app.state.chat = _open_chat(cfg)
            worker = Worker(app.state.queue, triage, poll_s=worker_poll_s,
                            kind=worker_kind) if triage else None
            app.state.worker = worker
            if worker:
                worker.start()
                stack.callback(worker.stop)
            yield

    app = FastAPI(
        title="Tally",
        version="0.1.0",
        description="Keeps warehouse inventory records true.",
        lifespan=lifespan,
    )
    app.state.metrics = ApiMetrics()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(transactions.router, responses=API_ERRORS)
    app.include_router(tickets.router, responses={**API_ERRORS, **error_responses(404)})
    app.include_router(decisions.router, responses=API_ERRORS)
    app.include_router(kpis.router)
    app.include_router(chat.router)
    app.include_router(count_plan.router)
    app.include_router(items.router)
    app.include_router(learning.router)
    app.include_router(recounts.router)
    install_web_ui(app)

    app.add_middleware(MeasureRequests, metrics=app.state.metrics)
    return app
