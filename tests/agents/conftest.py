"""Fixtures shared by the graph tests: the crafted warehouse's view and checkpointers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver

from agents.checkpoints import memory_checkpointer, postgres_checkpointer, sqlite_checkpointer
from tests.crafted_warehouse import crafted
from tools.view import WarehouseView


@pytest.fixture(scope="module")
def view() -> WarehouseView:
    return WarehouseView(crafted())


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_saver(request: pytest.FixtureRequest, tmp_path: Path
               ) -> Iterator[Callable[[], BaseCheckpointSaver]]:
    """A factory: each call is a fresh saver over the same storage (a restarted process)."""
    saved = memory_checkpointer()
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        savers: list[BaseCheckpointSaver] = []

        def fresh() -> BaseCheckpointSaver:
            savers.append(postgres_checkpointer(url))
            return savers[-1]
        yield fresh
        for saver in savers:
            saver.conn.close()  # type: ignore[attr-defined]
        return
    yield (lambda: saved) if request.param == "memory" else (
        lambda: sqlite_checkpointer(tmp_path / "checkpoints.sqlite"))
