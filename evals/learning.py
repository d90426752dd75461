"""Learning from verdicts, measured: verdicts on the first half of a log, figures on the second.

The protocol (issue 12): run Tally on a labelled log; every ticket of the first half gets a
verdict as a site would give it (CONFIRMED, with the label's root cause and action, for a
ticket that covers a labelled case; FALSE_ALARM for the others); the verdicts go into the
dataset folder as ``resolutions.csv`` and Tally runs again. The second half's tickets are
judged before and after: false-alarm share, recall and macro-F1 (:mod:`evals.metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from evals.expectations import Expectation
from evals.metrics import detection, judge, macro_f1, per_class
from warehouse.contract import Resolution, Ticket, Verdict
from warehouse.dataset import Dataset


@dataclass(frozen=True)
class HalfFigures:
    """Figures of the tickets of one half of a log."""

    tickets: int
    actionable_tickets: int
    false_alarms: int
    false_alarm_share: float
    recall: float
    macro_f1: float


class TimeSplit:
    """A labelled log cut in two at the middle of its time span.

    Args:
        data: the log (its transactions give each txn_id a time).
        expectations: the labelled cases.
    """

    def __init__(self, data: Dataset, expectations: Sequence[Expectation]) -> None:
        tx = data.transactions
        ts = pd.to_datetime(tx["ts"], utc=True, format="ISO8601")
        self.time = dict(zip(tx["txn_id"].astype(str), ts, strict=True))
        self.split = ts.min() + (ts.max() - ts.min()) / 2
        self.expectations = list(expectations)

    def first_half(self, txn_ids: Sequence[str] | frozenset[str]) -> bool:
        """Whether the earliest of these transactions falls in the first half."""
        times = [self.time[t] for t in txn_ids if t in self.time]
        return bool(times) and min(times) < self.split

    def verdicts(self, tickets: Sequence[Ticket], *, decided_by: str | None = None
                 ) -> list[Resolution]:
        """Verdicts on the first half's tickets, as a site that knows the labels gives them."""
        out = []
        for t in tickets:
            if not self.first_half(t.txn_ids):
                continue
            case = next((e for e in self.expectations if e.txn_ids.intersection(t.txn_ids)),
                        None)
            if case is None:
                out.append(Resolution(txn_ids=t.txn_ids, verdict=Verdict.FALSE_ALARM,
                                      decided_by=decided_by, ticket_id=t.ticket_id))
            else:
                out.append(Resolution(txn_ids=t.txn_ids, verdict=Verdict.CONFIRMED,
                                      root_cause=case.root_cause,
                                      action=min(case.actions), decided_by=decided_by,
                                      ticket_id=t.ticket_id))
        return out

    def second_half(self, tickets: Sequence[Ticket]) -> HalfFigures:
        """Figures of the second half: its cases, and its tickets that cover no earlier case."""
        late = [e for e in self.expectations if not self.first_half(e.txn_ids)]
        early = [e for e in self.expectations if self.first_half(e.txn_ids)]
        judged = [t for t in tickets if not self.first_half(t.txn_ids)
                  and not any(e.txn_ids.intersection(t.txn_ids) for e in early)]
        d = detection({"late": judged}, {"late": late})
        units = judge("late", judged, late)
        return HalfFigures(tickets=len(judged), actionable_tickets=d.actionable_tickets,
                           false_alarms=d.false_alarms, false_alarm_share=d.false_alarm_share,
                           recall=d.recall, macro_f1=macro_f1(per_class(units)))
