"""Reading ahead: the next chunk is parsed and checked while the current one is written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
_POLL_S = 0.1


def read_ahead(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """``items``, produced by a background thread up to ``depth`` items ahead.

    Parsing (pandas' tokenizer, Arrow kernels) and writing (SQLite's steps, PostgreSQL's
    server) release the GIL, so reading and writing overlap where a second core is free.
    An exception raised by ``items`` reaches the consumer; a consumer that stops early
    (or fails) stops the reader, which closes ``items`` in its own thread.
    """
    queue: Queue[tuple[object, BaseException | None]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[object, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=_POLL_S)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as error:  # handed to the consumer
            put((_DONE, error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="tally-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item, error = queue.get(timeout=_POLL_S)
            except Empty:
                if not thread.is_alive() and queue.empty():
                    raise RuntimeError("the read-ahead thread ended without a result") from None
                continue
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
