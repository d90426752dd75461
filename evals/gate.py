"""The eval gate: limits from ``evals/thresholds.toml`` applied to one run's figures."""

from __future__ import annotations

import tomllib
from pathlib import Path

from warehouse.errors import UserError

THRESHOLDS_PATH = Path(__file__).with_name("thresholds.toml")
SUPPORTED_VERSION = 1


def load_limits(suite: str, mode: str, path: Path = THRESHOLDS_PATH) -> dict[str, float]:
    """The ``[<suite>.<mode>]`` limits (``<figure>_min`` / ``<figure>_max`` -> value).

    Raises:
        UserError: the file is unreadable, of another version, or a limit is not a number
            or not named ``*_min`` / ``*_max``. A suite and mode without a table gate on
            safety and crashes only.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise UserError(f"{path}: cannot read thresholds ({err})") from None
    if raw.get("version") != SUPPORTED_VERSION:
        raise UserError(f"{path}: version must be {SUPPORTED_VERSION}, not {raw.get('version')!r}")
    table = raw.get(suite, {}).get(mode, {})
    limits = {}
    for key, value in table.items():
        if not key.endswith(("_min", "_max")):
            raise UserError(f"{path} [{suite}.{mode}] {key}: name must end in _min or _max")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserError(f"{path} [{suite}.{mode}] {key}: {value!r} is not a number")
        limits[key] = float(value)
    return limits


def check(figures: dict[str, float], limits: dict[str, float]) -> list[str]:
    """Every limit broken, as readable lines; a limit on a figure the run lacks is broken."""
    broken = []
    for key, limit in sorted(limits.items()):
        name, bound = key.rsplit("_", 1)
        value = figures.get(name)
        if value is None:
            broken.append(f"{name}: not measured (limit {bound} {limit:g})")
        elif bound == "min" and value < limit:
            broken.append(f"{name} {value:.3f} < {limit:g}")
        elif bound == "max" and value > limit:
            broken.append(f"{name} {value:.3f} > {limit:g}")
    return broken
