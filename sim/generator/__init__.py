"""Demo warehouse generator: a simulated distribution centre with labelled anomalies.

Modules: ``config`` (knobs), ``layout`` (locations), ``catalogue`` (items and look-alike
families), ``roster`` (shifts, operators, devices), ``ledger`` (log plus system and physical
balances), ``operations`` (daily flows), ``anomalies`` (labelled recipes), ``benign``
(unlabelled look-alike noise), ``labels`` (cases and expected actions), ``assemble``
(frames). The command is ``tally generate`` (:mod:`api.cli.generate`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.generator.assemble import generate
    from sim.generator.config import GeneratorConfig

__all__ = ["GeneratorConfig", "generate"]


def __getattr__(name: str) -> Any:
    """Load ``generate`` and ``GeneratorConfig`` on first use.

    The simulation pulls in numpy and pandas; ``sim.generator.profiles`` (read by ``tally
    --help``) must not.
    """
    if name == "generate":
        from sim.generator.assemble import generate

        return generate
    if name == "GeneratorConfig":
        from sim.generator.config import GeneratorConfig

        return GeneratorConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
