"""One daemon thread that repeats a step until stopped: the triage worker's and the write-back's."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class BackgroundLoop:
    """Calls ``step`` on a daemon thread until :meth:`stop`, waiting ``poll_s`` when it is idle.

    ``step`` answers whether it found work (then it is called again at once). An exception is
    logged with ``what`` and counts as idle: a database hiccup must not kill the thread.
    """

    def __init__(self, name: str, step: Callable[[], bool], what: str) -> None:
        self.name = name
        self.step = step
        self.what = what
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, poll_s: float) -> None:
        """Start the thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(poll_s,), name=self.name,
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its current step and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self, poll_s: float) -> None:
        while not self._stop.is_set():
            try:
                busy = self.step()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the thread
                log.exception(self.what)
                busy = False
            if not busy:
                self._stop.wait(poll_s)
