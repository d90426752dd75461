"""The REST adapter against the reference WMS: exactly once, even when half the calls fail."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tenacity import wait_none

from actions.wms import WriteBackStatus
from actions.wms_rest import RestWmsAdapter
from sim.wms.app import create_sim_app
from sim.wms.faults import FaultInjector, FaultMode, FaultPlan
from tests.loopback_server import serve_on_loopback
from warehouse.canonical import write_back_key
from warehouse.contract import Action

SKUS = [f"S{i:02d}" for i in range(16)]


@pytest.fixture
def sim() -> Iterator[tuple[object, str]]:
    app = create_sim_app(api_key="sim-key")
    with serve_on_loopback(app) as url:
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer sim-key"}) as admin:
            admin.put("/v1/items", json=[{"sku": s, "case_qty": 1} for s in SKUS])
            admin.put("/v1/inventory", json=[{"sku": s, "location": "L1", "qty": 100}
                                             for s in SKUS]).raise_for_status()
        yield app, url


def adapter(url: str, attempts: int = 8) -> RestWmsAdapter:
    return RestWmsAdapter(url, api_key="sim-key", timeout_s=0.15, attempts=attempts,
                          wait=wait_none())


def adjust(sku: str, delta: float = -2) -> Action:
    return Action(type="ADJUST_INVENTORY",
                  params={"sku": sku, "location": "L1", "qty_delta": delta, "reason_code": "LOST"})


def balances(url: str) -> dict[str, float]:
    rows = httpx.get(f"{url}/v1/inventory", headers={"Authorization": "Bearer sim-key"}).json()
    return {r["sku"]: r["qty"] for r in rows}


def applied(url: str) -> list[dict]:
    return httpx.get(f"{url}/v1/actions", headers={"Authorization": "Bearer sim-key"}).json()


def test_exactly_once_with_half_the_calls_failing(sim: tuple[object, str]) -> None:
    app, url = sim
    app.state.faults = FaultInjector(FaultPlan(fail_rate=0.5, stall_s=0.4, seed=11))
    wms = adapter(url)
    results = {sku: wms.apply(adjust(sku), idempotency_key=write_back_key(f"T-{sku}", adjust(sku)))
               for sku in SKUS}
    injected = app.state.faults.injected
    # the seed really exercised every failure mode, including "applied but answer lost"
    assert injected[FaultMode.ERROR] and injected[FaultMode.LOST] and injected[FaultMode.STALL]
    assert all(r.status in (WriteBackStatus.APPLIED, WriteBackStatus.ALREADY_APPLIED)
               for r in results.values()), results
    assert any(r.status is WriteBackStatus.ALREADY_APPLIED for r in results.values())
    assert balances(url) == dict.fromkeys(SKUS, 98)
    assert len(applied(url)) == len(SKUS)
    # a second round (e.g. a worker restarted after a crash) doubles nothing
    again = [wms.apply(adjust(s), idempotency_key=write_back_key(f"T-{s}", adjust(s)))
             for s in SKUS]
    assert {r.status for r in again} == {WriteBackStatus.ALREADY_APPLIED}
    assert balances(url) == dict.fromkeys(SKUS, 98)
    wms.close()


def test_gives_up_as_failed_then_retry_lands_once(sim: tuple[object, str]) -> None:
    app, url = sim
    app.state.faults = FaultInjector(FaultPlan(fail_rate=1.0, modes=[FaultMode.LOST]))
    wms = adapter(url, attempts=3)
    action = adjust("S01", -5)
    key = write_back_key("T-9", action)
    failed = wms.apply(action, idempotency_key=key)
    assert failed.status is WriteBackStatus.FAILED
    assert failed.detail.startswith("gave up after 3 tries")
    # the WMS did apply it on the first try; the answer was lost each time
    assert balances(url)["S01"] == 95
    app.state.faults = FaultInjector(FaultPlan())
    retried = wms.apply(action, idempotency_key=key)
    assert retried.status is WriteBackStatus.ALREADY_APPLIED
    assert balances(url)["S01"] == 95
    assert len(applied(url)) == 1


def test_failed_before_apply_then_retry_applies(sim: tuple[object, str]) -> None:
    app, url = sim
    app.state.faults = FaultInjector(FaultPlan(fail_rate=1.0, modes=[FaultMode.ERROR]))
    wms = adapter(url, attempts=2)
    action = adjust("S02", 4)
    key = write_back_key("T-10", action)
    assert wms.apply(action, idempotency_key=key).status is WriteBackStatus.FAILED
    assert balances(url)["S02"] == 100
    app.state.faults = FaultInjector(FaultPlan())
    assert wms.apply(action, idempotency_key=key).status is WriteBackStatus.APPLIED
    assert balances(url)["S02"] == 104


def test_refusal_is_not_retried(sim: tuple[object, str]) -> None:
    _, url = sim
    calls: list[httpx.Request] = []
    client = httpx.Client(base_url=url, event_hooks={"request": [calls.append]})
    wms = RestWmsAdapter(url, client=client, api_key="sim-key", attempts=5, wait=wait_none())
    bad = Action(type="CORRECT_MASTER_DATA",
                 params={"sku": "S03", "field": "case_qty", "old": 12, "new": 6})
    result = wms.apply(bad, idempotency_key="T-11:abcdefgh")
    assert result.status is WriteBackStatus.FAILED
    assert result.detail.startswith("rejected: HTTP 409")
    assert len(calls) == 1
    assert calls[0].headers["Idempotency-Key"] == "T-11:abcdefgh"


def test_unreachable_wms_fails_after_retries() -> None:
    wms = RestWmsAdapter("http://127.0.0.1:9", attempts=2, timeout_s=0.2, wait=wait_none())
    result = wms.apply(adjust("S01"), idempotency_key="T-12:abcdefgh")
    assert result.status is WriteBackStatus.FAILED
    assert "ConnectError" in result.detail


def test_needs_a_url() -> None:
    with pytest.raises(ValueError, match="TALLY_WMS_URL"):
        RestWmsAdapter()


def test_write_back_key_changes_with_an_edit() -> None:
    a = adjust("S01", -2)
    assert write_back_key("T1", a) == write_back_key("T1", adjust("S01", -2))
    assert write_back_key("T1", a) != write_back_key("T1", adjust("S01", -3))
    assert write_back_key("T1", a) != write_back_key("T2", a)
