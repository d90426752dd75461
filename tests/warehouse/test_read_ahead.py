from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from warehouse.store.read_ahead import read_ahead


def test_items_arrive_in_order_from_another_thread() -> None:
    threads: set[str] = set()

    def numbers() -> Iterator[int]:
        for n in range(50):
            threads.add(threading.current_thread().name)
            yield n

    assert list(read_ahead(numbers(), depth=3)) == list(range(50))
    assert threads == {"tally-read-ahead"}


def test_an_error_of_the_source_reaches_the_consumer_after_its_items() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("line 3: broken")

    seen: list[int] = []
    with pytest.raises(ValueError, match="line 3: broken"):
        for item in read_ahead(failing()):
            seen.append(item)
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_closes_the_source() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    reader = read_ahead(endless())
    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    reader.close()
    assert closed.is_set()
    assert not any(t.name == "tally-read-ahead" for t in threading.enumerate())
