"""Schemathesis against the OpenAPI schema: generated requests to every operation, valid and
invalid, never get a 5xx. Bounded examples per operation to stay fast."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlmodel import Session

from api.app import create_app
from api.tickets import save_ticket
from tests.api_fixtures import adjust, make_ticket, make_users
from warehouse.settings import get_settings

EXAMPLES = 20


app = create_app(worker_poll_s=1.0)  # the real store, opened from the settings in the lifespan
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, str]]:
    data_dir = tmp_path_factory.mktemp("schema")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TALLY_DATA_DIR", str(data_dir))
        get_settings.cache_clear()
        with TestClient(app):
            engine = app.state.engine
            token = make_users(engine, ("admin1", "admin"))["admin1"]
            with Session(engine) as s:
                save_ticket(s, ticket=make_ticket(1, action=adjust("SKU-1", "P-1", -2)),
                            unit_cost=1.0)
                save_ticket(s, ticket=make_ticket(2))
            yield app, token
        get_settings.cache_clear()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case, served: tuple[object, str]) -> None:
    _, token = served
    headers = dict(case.headers or {})
    headers.setdefault("Authorization", f"Bearer {token}")
    case.call_and_validate(headers=headers, checks=[not_a_server_error])
