"""Intake held to the contract on the real store: every bad input is a 4xx naming the field or
the row, good neighbours are stored, and a re-delivery with another payload is a conflict."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.intake_rules import MAX_NOTE_CHARS
from tests.api_fixtures import auth, make_users, open_store
from warehouse.settings import get_settings
from warehouse.store import Store


def event(i: int, **changes: object) -> dict:
    row = {"txn_id": f"T{i}", "ts": "2024-05-01T08:00:00+00:00", "type": "PICK", "sku": "A1",
           "qty": 2, "location": "P-01", "user_id": "u1"}
    row.update(changes)
    return row


@pytest.fixture
def world(tmp_path: object) -> Iterator[tuple[TestClient, Store, dict[str, str]]]:
    store = open_store(tmp_path)
    with TestClient(create_app(get_settings(), store=store)) as client:
        yield client, store, auth(make_users(store.engine, ("sup1", "supervisor"))["sup1"])


def stored(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(text("SELECT txn_id FROM transactions ORDER BY seq")).scalars())


def post_raw(client: TestClient, headers: dict, body: str) -> object:
    return client.post("/v1/transactions", content=body.encode(),
                       headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_non_finite_numbers_are_refused_naming_the_field(world: tuple, number: str) -> None:
    client, store, headers = world
    for field in ("qty", "weight_kg", "expected_qty"):
        body = json.dumps(event(1)).replace('"qty": 2', f'"qty": 2, "{field}": {number}') \
            if field != "qty" else json.dumps(event(1)).replace('"qty": 2', f'"qty": {number}')
        answer = post_raw(client, headers, body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["rejected"][0]["field"] == field
        assert "finite" in answer.json()["rejected"][0]["message"]
    assert stored(store) == []


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"qty": True}, "qty", "boolean"),
    ({"type": "PICK", "qty": -5}, "qty", "> 0 for PICK"),
    ({"type": "RECEIPT", "qty": 0}, "qty", "> 0 for RECEIPT"),
    ({"type": "MOVE", "qty": -1, "to_location": "R-1"}, "qty", "> 0 for MOVE"),
    ({"type": "ADJUSTMENT", "qty": 0}, "qty", "not 0"),
    ({"type": "CYCLE_COUNT", "qty": -1}, "qty", ">= 0"),
    ({"weight_kg": -0.5}, "weight_kg", ">= 0"),
    ({"note": "x" * (5 * 1024 * 1024)}, "note", f"at most {MAX_NOTE_CHARS}"),
    ({"note": "shelf\x00empty"}, "note", "control"),
    ({"sku": "A1\x00"}, "sku", "control characters (U+0000)"),
    ({"txn_id": "T\x07"}, "txn_id", "control"),
    ({"lot": "L" * 200}, "lot", "at most 128"),
    ({"scanner_dump": "y" * 9000}, "extras", "at most 8000"),
], ids=["bool-qty", "negative-pick", "zero-receipt", "negative-move", "zero-adjustment",
        "negative-count", "negative-weight", "5mb-note", "nul-note", "nul-sku", "bel-txn-id",
        "long-lot", "huge-extras"])
def test_contract_rules_refuse_the_row(world: tuple, changes: dict, field: str,
                                       words: str) -> None:
    client, store, headers = world
    answer = client.post("/v1/transactions", json=event(1, **changes), headers=headers)
    assert answer.status_code == 422, answer.text
    error = answer.json()["rejected"][0]
    assert (error["index"], error["field"]) == (0, field) and words in error["message"], error
    assert stored(store) == []


def test_signed_adjustment_and_zero_count_are_fine(world: tuple) -> None:
    client, store, headers = world
    answer = client.post("/v1/transactions", headers=headers, json=[
        event(1, type="ADJUSTMENT", qty=-3), event(2, type="CYCLE_COUNT", qty=0),
        event(3, note="line one\nline two\ttabbed")])
    assert answer.status_code == 201, answer.text
    assert stored(store) == ["T1", "T2", "T3"]


def test_one_bad_row_in_a_600_row_batch_loses_only_itself(world: tuple) -> None:
    client, store, headers = world
    rows = [json.dumps(event(i)) for i in range(600)]
    rows[417] = json.dumps(event(417)).replace('"qty": 2', '"qty": NaN')
    answer = post_raw(client, headers, "[" + ",".join(rows) + "]")
    assert answer.status_code == 207, answer.text
    body = answer.json()
    assert body["accepted"] == 599
    assert [(e["index"], e["field"]) for e in body["rejected"]] == [(417, "qty")]
    assert len(stored(store)) == 599 and "T417" not in stored(store)


def test_redelivery_same_payload_is_idempotent_another_is_a_conflict(world: tuple) -> None:
    client, store, headers = world
    first = event(1, note="first", ts="2024-05-01T10:00:00+02:00")
    assert client.post("/v1/transactions", json=first, headers=headers).status_code == 201
    same = dict(first, ts="2024-05-01T08:00:00+00:00")  # the same instant, written in UTC
    again = client.post("/v1/transactions", json=same, headers=headers)
    assert again.status_code == 201 and again.json()["accepted"] == 1
    changed = client.post("/v1/transactions", json=event(1, qty=5, note="first"),
                          headers=headers)
    assert changed.status_code == 409, changed.text
    assert "qty" in changed.json()["detail"] and changed.json()["rejected"][0]["conflict"]
    mixed = client.post("/v1/transactions", headers=headers,
                        json=[event(2), event(1, qty=5), event(2, qty=9)])
    assert mixed.status_code == 207, mixed.text
    assert [(e["index"], e["field"], e["conflict"]) for e in mixed.json()["rejected"]] == [
        (1, "txn_id", True), (2, "txn_id", True)]
    assert stored(store) == ["T1", "T2"]
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT qty FROM transactions WHERE txn_id = 'T1'")
                            ).scalar_one() == 2


@pytest.mark.parametrize("body", ["{not json", '{"txn_id": "T1",', "\x00\x01", ""])
def test_a_body_that_is_not_json_is_a_clear_4xx(world: tuple, body: str) -> None:
    client, _, headers = world
    answer = post_raw(client, headers, body)
    assert 400 <= answer.status_code < 500, answer.text
    if answer.status_code == 422:
        errors = answer.json()["errors"]
        assert errors[0]["field"] == "body", errors
        assert ("JSON" if body else "required") in errors[0]["message"], errors
