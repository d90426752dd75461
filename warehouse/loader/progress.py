"""A rich progress bar over the bytes of the files being read (a no-op when disabled)."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from warehouse.loader.sources import SourceFile


class LoadProgress:
    """One bar per file; ``watch(source)`` returns the callback that moves it on."""

    def __init__(self, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), transient=False,
        ) if enabled else None

    def __enter__(self) -> LoadProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def watch(self, source: SourceFile) -> Callable[[], None]:
        """Add a bar for ``source``; call the result after each chunk."""
        progress = self._progress
        if progress is None:
            return lambda: None
        task = progress.add_task(source.path.name, total=source.size)
        return lambda: progress.update(task, completed=source.position)
