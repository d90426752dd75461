"""Deterministic fault injection for the reference WMS's write endpoint.

Real WMS integrations fail in three ways that matter for exactly-once write-back: the call
fails before anything happens (``error``), the action is applied but the answer is lost
(``lost``), or the action is applied and the answer comes too late (``stall``). A seeded
random draw per call picks whether and how a call fails, so a test sees the same sequence
every run.
"""

from __future__ import annotations

import random
import threading
from enum import StrEnum

from pydantic import BaseModel, Field


class FaultMode(StrEnum):
    """How one write call fails."""

    ERROR = "error"
    LOST = "lost"
    STALL = "stall"


class FaultPlan(BaseModel):
    """What fraction of write calls fail, how, and with which seed."""

    fail_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    modes: list[FaultMode] = Field(default_factory=lambda: list(FaultMode))
    stall_s: float = Field(default=5.0, ge=0.0, description="how long a stalled answer waits")
    seed: int = 0


class FaultInjector:
    """Draws the fault, if any, for each write call in order (thread-safe)."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._lock = threading.Lock()
        self.injected: dict[FaultMode, int] = dict.fromkeys(FaultMode, 0)

    def draw(self) -> FaultMode | None:
        """The fault for the next call, or None when it should succeed."""
        with self._lock:
            if not self.plan.modes or self._rng.random() >= self.plan.fail_rate:
                return None
            mode = self._rng.choice(self.plan.modes)
            self.injected[mode] += 1
            return mode
