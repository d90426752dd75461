"""``tally serve`` with a broker: the API and UI only; posted events relayed to the workers.

The event API stores a batch and its ``SCORE`` work item in one transaction (the outbox,
:meth:`api.intake.Intake.store_valid`); the relay, the API process's one background worker,
publishes each item's events onto their partitions and marks it done. A relay that dies
after publishing and before marking publishes the item again on restart, and the workers'
scored-event ledger makes the second copy a no-op.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi import FastAPI

from api.app import create_app
from api.intake import SCORE
from api.service import ServiceTriage, open_store, open_wms
from api.stream.broker import Transport
from api.stream.publish import publish_events
from api.stream.scoring import StreamScorer
from api.worker import WorkItem
from warehouse.settings import Settings
from warehouse.sites import DEFAULT_SITE


class Relay:
    """Publishes ``SCORE`` items onto the partitions (a :data:`api.worker.Triage` callable).

    Args:
        settings: the broker, prefix and partitions.
    """

    def __init__(self, settings: Settings) -> None:
        assert settings.broker_url
        self.transport = Transport(settings.broker_url, prefix=settings.stream_prefix,
                                   partitions=settings.stream_partitions)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tally-relay",
                                        daemon=True)
        self._thread.start()
        self._run(self.transport.broker.connect())
        self._run(self.transport.declare())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def __call__(self, item: WorkItem) -> None:
        """Publish the item's events, by site and SKU, in the order they were posted."""
        if item.kind != SCORE:
            raise ValueError(f"the relay takes SCORE work, not {item.kind!r}")
        events = item.payload["events"]
        site = str(item.payload.get("site") or DEFAULT_SITE)
        self._run(publish_events(self.transport, events, site=site))

    def close(self) -> None:
        """Disconnect and stop the relay's loop."""
        self._run(self.transport.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def create_api_app(settings: Settings, *, store: Any = None, worker_poll_s: float = 0.5
                   ) -> FastAPI:
    """The API and UI of a deployment with workers: nothing scored or triaged here.

    Args:
        settings: configuration with ``broker_url`` set.
        store: the warehouse store (opened from the settings and migrated when None).
        worker_poll_s: how often the relay looks for posted events.
    """
    store = store if store is not None else open_store(settings)
    wms = open_wms(settings)
    triage = ServiceTriage(settings, store=store,
                           scorer=StreamScorer(store).for_site(store.site), wms=wms)
    relay = Relay(settings)
    app = create_app(settings, store=store, triage=relay, worker_kind=SCORE,
                     graph_factory=triage.graph_factory, wms=wms, worker_poll_s=worker_poll_s,
                     defer_scoring=True)
    app.state.triage = triage
    app.state.learning = triage.learning
    app.state.recounts = triage.recounts
    app.state.relay = relay
    return app
