"""A site published onto the partitioned work queue (RabbitMQ and NATS JetStream, for real).

One worker in this process (two partitions at once) on the embedded SQLite store: every
event is stored and scored once (the same txn_ids under another site are that site's
own), a re-published message changes nothing, a poison body and a bad row are parked with
their reasons while the rest flows, and the flags and tickets are those of the batch run of
the same log but for the one flag named below: a dock misread that a later re-weigh explains,
which a worker (judging the receipt on the log before it) still flags.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest

from api.service import open_store
from api.stream.broker import Transport, partition_of
from api.stream.publish import publish_events
from api.stream.run import run_worker
from api.stream.worker import Poison, decode, encode
from scoring import Scorer
from tests.stream_rig import Site, judge, make_site, settled, streamed
from warehouse.dataset import Dataset
from warehouse.settings import get_settings

pytestmark = [pytest.mark.service, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Site]:
    return make_site(tmp_path_factory.mktemp("site") / "history", stream=120)


def test_a_sku_always_lands_on_the_same_partition() -> None:
    parts = {partition_of("north", f"SKU{i}", 8) for i in range(200)}
    assert parts == set(range(8))
    assert partition_of("north", "SKU1", 8) == partition_of("north", "SKU1", 8)
    assert any(partition_of("north", f"SKU{i}", 8) != partition_of("south", f"SKU{i}", 8)
               for i in range(20))


def test_message_bodies_name_their_site_or_are_poison() -> None:
    assert decode(encode("north", [{"txn_id": "T1"}])) == ("north", [{"txn_id": "T1"}])
    assert decode(b'{"txn_id": "T1"}') == ("default", [{"txn_id": "T1"}])
    for body, reason in [(b"not json", "not JSON"), (b"[]", "no events"),
                         (b'{"site": "no/slash", "events": [{}]}', "bad site name")]:
        with pytest.raises(Poison, match=reason):
            decode(body)


def _wait(check: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


@pytest.fixture(params=["rabbit", "nats"])
def broker_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("amqp_url" if request.param == "rabbit" else "nats_url"))


def test_a_published_site_is_scored_once_and_ticketed_as_the_batch_run(
        broker_url: str, site: tuple[Dataset, Site], monkeypatch: pytest.MonkeyPatch) -> None:
    history, rig = site
    monkeypatch.setenv("TALLY_BROKER_URL", broker_url)
    monkeypatch.setenv("TALLY_STREAM_PREFIX", f"test.{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("TALLY_STREAM_PARTITIONS", "4")
    monkeypatch.setenv("TALLY_SCORER_REFIT_EVENTS", "0")
    monkeypatch.setenv("TALLY_TRIAGE_SETTLE_S", "0")
    get_settings.cache_clear()
    settings = get_settings()
    store = open_store(settings)
    store.ingest(rig.history_dir)
    judge(rig, Scorer().fit(store.snapshot()), history)
    assert rig.flagged, "the rig's stream should hold problems the batch run flags"
    # the one look-ahead this stream meets (tests/stream_rig.py): the re-weigh comes later
    assert [(g.code, g.side) for g in rig.lookahead] == [("DOCK_WEIGHT_MISMATCH", "online")]
    flagged, ticketed = rig.expected
    assert flagged == rig.flagged | {g.txn_id for g in rig.lookahead}
    half = len(rig.events) // 2
    bad_row = {**rig.events[0], "txn_id": "BAD-1", "qty": "lots"}

    async def scenario() -> tuple[list[dict], int]:
        transport = Transport(broker_url, prefix=settings.stream_prefix, partitions=4)
        await transport.broker.connect()
        await transport.declare()
        await publish_events(transport, rig.events[:half], site="default", batch=10)
        await transport.publish(b"\x00 not json", 0)
        await transport.publish(encode("default", [bad_row]), 1)
        await publish_events(transport, rig.events[:10], site="default", batch=10)  # again
        await publish_events(transport, rig.events[:10], site="north", batch=10)  # same ids
        await publish_events(transport, rig.events[half:], site="default", batch=10)
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(settings, concurrency=2, stop=stop))
        done = await asyncio.to_thread(_wait, settled(store.engine, len(rig.events) + 10), 300)
        stop.set()
        consumer = await worker
        parked = await transport.drain_rejects()
        await transport.delete()
        await transport.close()
        assert done, "the stream did not settle within 300 s"
        return parked, consumer.messages

    parked, messages = asyncio.run(scenario())
    ids = {e["txn_id"] for e in rig.events}
    out = streamed(store.engine, ids)
    assert sorted(out.stored) == sorted(ids)  # every event once, the bad row not at all
    assert Counter(out.scored) == Counter(ids)
    assert sorted(streamed(store.engine, ids, "north").scored) == sorted(
        e["txn_id"] for e in rig.events[:10])
    north = store.for_site("north").snapshot().transactions
    assert sorted(north["txn_id"]) == sorted(e["txn_id"] for e in rig.events[:10])
    assert out.flagged == flagged
    assert not out.failed, f"work given up on: {out.failed}"
    assert not [t for t, n in Counter(out.ticketed).items() if n > 1]
    assert set(out.ticketed) == ticketed
    reasons = {e["field"]: e["message"] for p in parked for e in p["errors"]}
    assert "not JSON" in reasons["body"] and "qty" in reasons
    assert len(parked) == 2 and messages >= 13
