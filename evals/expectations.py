"""What a labelled case expects of Tally's tickets: the judge's side of every metric.

A generated dataset's ``labels.csv`` rows (CONTRACT.md section 4) and a hand-written case's
``expected.yaml`` both become :class:`Expectation` objects. A ticket covers an expectation
when the two share at least one txn_id (the contract's rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from warehouse.contract import ActionType, Label, RootCause


@dataclass(frozen=True)
class Expectation:
    """One labelled case and what a correct ticket about it looks like.

    Attributes:
        case_id: id of the case, unique within its dataset.
        root_cause: the true root cause (for ambiguous cases, the most likely one).
        txn_ids: the transactions that show the anomaly.
        actions: action types a correct ticket may propose (one for contract labels).
        also_causes: other root causes accepted as right (ambiguous cases only).
        confidence: inclusive (low, high) range the ticket's confidence must fall in.
        must_mention: strings the summary or explanation must contain (case-insensitive).
        sku: where the case is, if known.
        location: where the case is, if known.
    """

    case_id: str
    root_cause: RootCause
    txn_ids: frozenset[str]
    actions: frozenset[ActionType]
    also_causes: frozenset[RootCause] = field(default_factory=frozenset)
    confidence: tuple[float, float] = (0.0, 1.0)
    must_mention: tuple[str, ...] = ()
    sku: str | None = None
    location: str | None = None

    @property
    def actionable(self) -> bool:
        """Whether something is wrong here (anything but LEGITIMATE must be detected)."""
        return self.root_cause is not RootCause.LEGITIMATE

    def accepts(self, cause: RootCause) -> bool:
        """Whether ``cause`` is a right answer for this case."""
        return cause is self.root_cause or cause in self.also_causes

    @staticmethod
    def from_label(label: Label) -> Expectation:
        """The expectation of one contract label (one cause, one action, any confidence)."""
        return Expectation(
            case_id=label.case_id, root_cause=label.root_cause,
            txn_ids=frozenset(label.txn_ids), actions=frozenset({label.action}),
            sku=label.sku, location=label.location,
        )

    @staticmethod
    def from_mapping(raw: dict[str, Any], *, where: str) -> Expectation:
        """Parse one ``expected.yaml`` case; errors name ``where`` and the field.

        Keys: case_id, root_cause, txn_ids (list), action (one or a list), also_root_causes
        (list), confidence ([low, high]), must_mention (list), sku, location.
        """
        try:
            actions = raw["action"]
            actions = [actions] if isinstance(actions, str) else list(actions)
            low, high = raw.get("confidence", (0.0, 1.0))
            ids = raw["txn_ids"]
            if not ids:
                raise ValueError("txn_ids is empty")
            return Expectation(
                case_id=str(raw["case_id"]),
                root_cause=RootCause(raw["root_cause"]),
                txn_ids=frozenset(str(t) for t in ids),
                actions=frozenset(ActionType(a) for a in actions),
                also_causes=frozenset(RootCause(c) for c in raw.get("also_root_causes", [])),
                confidence=(float(low), float(high)),
                must_mention=tuple(str(m) for m in raw.get("must_mention", [])),
                sku=raw.get("sku"),
                location=raw.get("location"),
            )
        except KeyError as err:
            raise ValueError(f"{where}: missing field {err.args[0]}") from None
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: {err}") from None


def expectations_from_labels(labels: pd.DataFrame | None) -> list[Expectation]:
    """Expectations of a ``labels.csv`` frame (an absent frame means no cases)."""
    if labels is None or labels.empty:
        return []
    out = []
    for row in labels.to_dict("records"):
        label = Label(
            case_id=str(row["case_id"]), root_cause=row["root_cause"],
            txn_ids=str(row["txn_ids"]).split(), action=row["action"],
            sku=row["sku"] if isinstance(row.get("sku"), str) else None,
            location=row["location"] if isinstance(row.get("location"), str) else None,
        )
        out.append(Expectation.from_label(label))
    return out
