"""Shifts, operators and their devices.

Three shifts (A 06-14, B 14-22, N 22-06 with a skeleton crew). Every operator has a role, a
home shift and an RF gun. Benign noise lives here too: on any day an operator may swap to
the other day shift, borrow a spare gun, or work overtime after the shift ends (work after
22:00 falls to the B crew, work before 06:00 to the A crew) — all of which looks odd to a
naive "who works when" rule and is perfectly normal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR
SHIFTS = {"A": (6 * HOUR, 14 * HOUR), "B": (14 * HOUR, 22 * HOUR), "N": (22 * HOUR, 30 * HOUR)}
ROLES = ("receiver", "driver", "picker", "counter", "returns", "cage", "supervisor")
# Crew per role and shift, before pickers are sized to the order volume.
BASE_CREW = {
    ("receiver", "A"): 2, ("receiver", "B"): 1,
    ("driver", "A"): 2, ("driver", "B"): 2, ("driver", "N"): 1,
    ("counter", "A"): 1, ("counter", "B"): 1,
    ("returns", "A"): 1, ("returns", "B"): 1,
    ("cage", "A"): 1, ("cage", "B"): 1,
    ("supervisor", "A"): 1, ("supervisor", "B"): 1, ("supervisor", "N"): 1,
}
LINES_PER_PICKER_SHIFT = 110


@dataclass(frozen=True)
class Operator:
    """One person on the payroll."""

    user_id: str
    role: str
    shift: str
    device: str


def shift_of(second_of_day: int) -> str:
    """The shift a time of day belongs to."""
    if SHIFTS["A"][0] <= second_of_day < SHIFTS["A"][1]:
        return "A"
    if SHIFTS["B"][0] <= second_of_day < SHIFTS["B"][1]:
        return "B"
    return "N"


class Roster:
    """Who is on duty, per day, role and shift.

    Args:
        lines_per_day: average order lines per day (sizes the picking crew).
        operators: payroll size wanted, or None to size from the volume.
        swap_rate: chance per operator and day of working the other day shift.
        rng: the simulation's random generator.
    """

    def __init__(self, lines_per_day: float, operators: int | None, swap_rate: float,
                 rng: np.random.Generator) -> None:
        crew = dict(BASE_CREW)
        pickers = max(2, round(lines_per_day / 2 / LINES_PER_PICKER_SHIFT))
        if operators is not None:
            pickers = max(2, (operators - sum(crew.values())) // 2)
        crew[("picker", "A")] = pickers
        crew[("picker", "B")] = pickers
        total = sum(crew.values())
        numbers = rng.choice(np.arange(100, 100 + max(900, total * 4)), size=total, replace=False)
        guns = rng.choice(np.arange(1, 1 + max(200, total * 2)), size=total + 6, replace=False)
        self.operators: list[Operator] = []
        i = 0
        for (role, shift), n in crew.items():
            for _ in range(n):
                self.operators.append(Operator(f"OP{numbers[i]}", role, shift, f"RF-{guns[i]:03d}"))
                i += 1
        self.spare_guns = [f"RF-{g:03d}" for g in guns[total:]]
        self.swap_rate = swap_rate
        self._today: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def plan_day(self, rng: np.random.Generator) -> None:
        """Draw today's shift swaps and borrowed guns."""
        today: dict[tuple[str, str], list[tuple[str, str]]] = {}
        swaps = rng.random(len(self.operators)) < self.swap_rate
        borrow = rng.random(len(self.operators)) < 0.03
        for op, swap, b in zip(self.operators, swaps, borrow, strict=True):
            shift = op.shift
            if swap and shift in ("A", "B"):
                shift = "B" if shift == "A" else "A"
            gun = self.spare_guns[int(rng.integers(len(self.spare_guns)))] if b else op.device
            today.setdefault((op.role, shift), []).append((op.user_id, gun))
        self._today = today

    def crew(self, role: str, second_of_day: int) -> list[tuple[str, str]]:
        """(user, device) pairs of ``role`` on duty at a time of day, overtime included."""
        shift = shift_of(second_of_day % DAY)
        crew = self._today.get((role, shift))
        if crew:
            return crew
        late = second_of_day % DAY >= SHIFTS["B"][1] or second_of_day % DAY < 5 * HOUR
        for fallback in (("B", "A") if late else ("A", "B")):
            crew = self._today.get((role, fallback))
            if crew:
                return crew
        return [(op.user_id, op.device) for op in self.operators if op.role == role]

    def choose(self, role: str, second_of_day: int, rng: np.random.Generator) -> tuple[str, str]:
        """One (user, device) of ``role`` on duty at a time of day."""
        crew = self.crew(role, second_of_day)
        return crew[int(rng.integers(len(crew)))]

    def home_shift(self, user_id: str) -> str:
        """The shift an operator is rostered on."""
        return next(op.shift for op in self.operators if op.user_id == user_id)
