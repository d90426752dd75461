"""Measuring a scoring against labels: case recall at incident level, false incidents.

An incident covers a case when they share at least one txn_id (contract section 4); an
incident that covers no case is a false incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from scoring.types import Incident


@dataclass
class Coverage:
    """Case recall and false incidents of one scoring.

    Attributes:
        cases: labelled cases.
        covered: cases covered by at least one incident.
        incidents: incidents produced.
        false_incidents: incidents covering no case.
        by_cause: root cause -> (cases, covered).
        by_variant: variant -> (cases, covered), where labels carry a variant column.
        missed: case ids not covered.
    """

    cases: int
    covered: int
    incidents: int
    false_incidents: int
    by_cause: dict[str, tuple[int, int]] = field(default_factory=dict)
    by_variant: dict[str, tuple[int, int]] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of cases covered."""
        return self.covered / self.cases if self.cases else 1.0

    @property
    def false_share(self) -> float:
        """Share of incidents that cover no case."""
        return self.false_incidents / self.incidents if self.incidents else 0.0


def case_txns(labels: pd.DataFrame) -> dict[str, set[str]]:
    """case_id -> its txn_ids."""
    return {str(c): set(str(t).split()) for c, t in zip(labels["case_id"], labels["txn_ids"],
                                                         strict=True)}


def coverage(incidents: list[Incident], labels: pd.DataFrame) -> Coverage:
    """Which cases the incidents cover, and how many incidents cover none."""
    cases = case_txns(labels)
    owner = {t: c for c, ts in cases.items() for t in ts}
    covered: set[str] = set()
    false = 0
    for inc in incidents:
        hit = {owner[t] for t in inc.txn_ids if t in owner}
        covered |= hit
        false += not hit
    by_cause: dict[str, tuple[int, int]] = {}
    by_variant: dict[str, tuple[int, int]] = {}
    for row in labels.itertuples(index=False):
        ok = str(row.case_id) in covered
        for table, name in (
            (by_cause, row.root_cause),
            (by_variant, getattr(row, "variant", None)),
        ):
            if name is None:
                continue
            n, k = table.get(str(name), (0, 0))
            table[str(name)] = (n + 1, k + ok)
    missed = [c for c in cases if c not in covered]
    return Coverage(len(cases), len(covered), len(incidents), false, by_cause, by_variant, missed)
