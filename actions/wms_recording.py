"""A WMS adapter that records approved actions instead of calling a WMS (embedded mode, tests).

Idempotent like a real one: a repeated key answers ALREADY_APPLIED and records nothing new.
With a path, every applied action is appended to a JSONL file and reloaded on start, so a
restarted process still refuses to apply a key twice.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from actions.wms import WriteBackResult, WriteBackStatus
from warehouse.contract import Action


class RecordingWms:
    """Records approved actions, once per idempotency key.

    Args:
        path: JSONL file to append to (None keeps the record in memory only).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.applied: dict[str, Action] = {}
        self._lock = threading.Lock()
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = json.loads(line)
                    self.applied[rec["idempotency_key"]] = Action.model_validate(rec["action"])

    def apply(self, action: Action, *, idempotency_key: str) -> WriteBackResult:
        """Record ``action`` under ``idempotency_key`` unless that key was recorded before."""
        with self._lock:
            if idempotency_key in self.applied:
                return WriteBackResult(status=WriteBackStatus.ALREADY_APPLIED,
                                       idempotency_key=idempotency_key,
                                       wms_reference=f"rec-{len(self.applied)}")
            self.applied[idempotency_key] = action
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"idempotency_key": idempotency_key,
                                         "action": action.model_dump(mode="json")}) + "\n")
            return WriteBackResult(status=WriteBackStatus.APPLIED, idempotency_key=idempotency_key,
                                   wms_reference=f"rec-{len(self.applied)}")
