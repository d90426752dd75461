"""One worker process: the broker consumer and the triage thread, until told to stop."""

from __future__ import annotations

import asyncio
import signal
from contextlib import ExitStack
from typing import Any

from actions.audit import AuditLog
from api.app import open_checkpointer
from api.intake import FLAGS
from api.service import ServiceTriage, open_store, open_wms
from api.stream.balance import Members, balance
from api.stream.broker import Transport
from api.stream.scoring import StreamScorer
from api.stream.worker import Consumer, StreamWorker
from api.worker import Worker, WorkItem, WorkQueue
from warehouse.errors import UserError
from warehouse.settings import Settings


class SiteTriage:
    """The workers' triage callable: each ``FLAGS`` item to its site's triage.

    Args:
        settings: decides the reasoner and the write-back adapter.
        store: the warehouse store (any site's; each site gets its own on the same engine).
        scorer: the worker's scorer (each site's incident rules).
        checkpointer: the shared LangGraph checkpointer.
    """

    def __init__(self, settings: Settings, store: Any, scorer: StreamScorer,
                 checkpointer: Any) -> None:
        self.settings = settings
        self.store = store
        self.scorer = scorer
        self.checkpointer = checkpointer
        self.wms = open_wms(settings)
        self._sites: dict[str, ServiceTriage] = {}

    def __call__(self, item: WorkItem) -> None:
        """Triage the item (and the site's other pending flags) with its site's triage."""
        if item.site not in self._sites:
            triage = ServiceTriage(self.settings, store=self.store.for_site(item.site),
                                   scorer=self.scorer.for_site(item.site), wms=self.wms,
                                   settle_s=self.settings.triage_settle_s)
            triage.graph_factory(self.checkpointer)
            self._sites[item.site] = triage
        self._sites[item.site](item)


def start_triage(settings: Settings, store: Any, scorer: StreamScorer, stack: ExitStack
                 ) -> Worker:
    """The triage thread: ``FLAGS`` items -> incidents -> tickets, on the shared checkpointer."""
    triage = SiteTriage(settings, store, scorer, open_checkpointer(settings, stack))
    worker = Worker(WorkQueue(store.engine, lease_s=settings.work_lease_s), triage,
                    kind=FLAGS)
    worker.start()
    stack.callback(worker.stop)
    return worker


async def run_worker(settings: Settings, *, concurrency: int = 1, triage: bool = True,
                     stop: asyncio.Event | None = None) -> Consumer:
    """Consume the partitions (and triage) until ``stop`` is set or SIGINT/SIGTERM arrives."""
    if not settings.broker_url:
        raise UserError("TALLY_BROKER_URL is not set: name the RabbitMQ (amqp://) or NATS "
                        "(nats://) broker the workers consume")
    store = open_store(settings)
    scorer = StreamScorer(store, refit_events=settings.scorer_refit_events)
    transport = Transport(settings.broker_url, prefix=settings.stream_prefix,
                          partitions=settings.stream_partitions)
    consumer = Consumer(StreamWorker(store, scorer=scorer,
                                     audit=AuditLog(store.engine, settings=settings)),
                        transport, concurrency=concurrency)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    with ExitStack() as stack:
        if triage:
            start_triage(settings, store, scorer, stack)
        await transport.start()
        sharing = asyncio.create_task(balance(
            transport, Members(store.engine, settings.stream_prefix), stop)) \
            if transport.kind == "rabbit" else None
        try:
            await stop.wait()
        finally:
            if sharing is not None:
                await sharing
            await transport.close()
    return consumer
