"""The service: ``create_app()`` builds the FastAPI app; nothing is opened at import time.

The lifespan opens the store (or takes the one passed in), prepares the service tables,
and starts the background worker when a triage callable is given. Seams for later stages:

- ``scorer``: anything with ``score_event(Transaction) -> list[Flag]``; posted events are
  scored online and their flags queued as pending work (kind ``FLAGS``).
- ``triage``: a :data:`api.worker.Triage` callable that takes one pending-work item; the
  agent graph plugs in here (e.g. ``lambda item: graph.invoke(...)``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.middleware.base import RequestResponseEndpoint

from api.db import SERVICE_TABLES
from api.errors import install_error_handlers
from api.intake import Intake
from api.metrics import ApiMetrics
from api.routes import health, transactions
from api.worker import Triage, Worker, WorkQueue
from warehouse.audit import AuditLog
from warehouse.settings import Settings, get_settings


def _open_store(settings: Settings) -> Any:
    """The warehouse store at the configured URL, migrated to the latest schema."""
    from warehouse.store import Store

    store = Store.open(settings.resolved_database_url())
    store.upgrade()
    return store


def create_app(
    settings: Settings | None = None,
    *,
    store: Any = None,
    scorer: Any = None,
    triage: Triage | None = None,
    worker_poll_s: float = 0.5,
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
        worker_poll_s: how often an idle worker looks for new items.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or get_settings()
        opened = store if store is not None else _open_store(cfg)
        engine = opened.engine
        SERVICE_TABLES[0].metadata.create_all(engine, tables=SERVICE_TABLES)
        app.state.settings = cfg
        app.state.store = opened
        app.state.engine = engine
        app.state.scorer = scorer
        app.state.audit = AuditLog(engine)
        app.state.queue = WorkQueue(engine)
        app.state.intake = Intake(store=opened, queue=app.state.queue, audit=app.state.audit,
                                  scorer=scorer, metrics=app.state.metrics)
        worker = Worker(app.state.queue, triage, poll_s=worker_poll_s) if triage else None
        app.state.worker = worker
        if worker:
            worker.start()
        try:
            yield
        finally:
            if worker:
                worker.stop()

    app = FastAPI(
        title="Tally",
        version="0.1.0",
        description="Keeps warehouse inventory records true.",
        lifespan=lifespan,
    )
    app.state.metrics = ApiMetrics()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(transactions.router)

    @app.middleware("http")
    async def _measure(request: Request, call_next: RequestResponseEndpoint) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics = request.app.state.metrics
        metrics.requests.labels(request.method, path, str(response.status_code)).inc()
        metrics.latency.labels(path).observe(time.perf_counter() - start)
        return response

    return app
