"""Demo warehouse generator: a simulated distribution centre with labelled anomalies.

Modules: ``config`` (knobs), ``layout`` (locations), ``catalogue`` (items and look-alike
families), ``roster`` (shifts, operators, devices), ``ledger`` (log plus system and physical
balances), ``operations`` (daily flows), ``anomalies`` (labelled recipes), ``benign``
(unlabelled look-alike noise), ``labels`` (cases and expected actions), ``assemble``
(frames). The command is ``tally generate`` (:mod:`api.cli.generate`).
"""

from sim.generator.assemble import generate
from sim.generator.config import GeneratorConfig

__all__ = ["GeneratorConfig", "generate"]
