"""The naive baseline the report measures Tally against: a generic detector + the commonest class.

Detection: scikit-learn's IsolationForest over generic per-row numbers (quantity, its ratio
to the SKU's median, the weight ratio, the ASN or count variance, hour of day, type), fitted
on the dataset itself; flagged rows are grouped by SKU and location into one ticket each.
Classification: every ticket gets the root cause that is most common among the labelled
cases it was fitted on, with that cause's most common action and its share as confidence.
It knows nothing about warehouses; the lift over it is what the domain work buys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from evals.expectations import Expectation
from warehouse.contract import (
    Action,
    ActionType,
    EvidenceItem,
    Severity,
    Ticket,
    TicketStatus,
)
from warehouse.dataset import Dataset

TYPES = ("RECEIPT", "PUTAWAY", "PICK", "MOVE", "ADJUSTMENT", "CYCLE_COUNT", "RETURN")


class NaiveBaseline:
    """IsolationForest detector plus a constant verdict.

    Args:
        contamination: share of rows the forest flags.
        seed: the forest's random state.
    """

    name = "baseline"

    def __init__(self, contamination: float = 0.01, seed: int = 0) -> None:
        self.contamination = contamination
        self.seed = seed

    def fit(self, labelled: Sequence[Expectation]) -> NaiveBaseline:
        """Learn the commonest root cause (and its commonest action) from labelled cases."""
        causes = Counter(e.root_cause for e in labelled if e.actionable)
        if not causes:
            raise ValueError("the baseline needs labelled actionable cases to fit")
        self.cause_, count = causes.most_common(1)[0]
        self.confidence_ = count / sum(causes.values())
        actions = Counter(a for e in labelled if e.root_cause is self.cause_ for a in e.actions)
        self.action_ = actions.most_common(1)[0][0]
        return self

    def triage(self, data: Dataset) -> list[Ticket]:
        """Tickets for the rows the forest finds most isolated, one per SKU and location."""
        tx = data.transactions.reset_index(drop=True)
        if len(tx) < 2:
            return []
        x = row_features(data)
        forest = IsolationForest(contamination=self.contamination, random_state=self.seed)
        flagged = forest.fit_predict(x) == -1
        raw = -forest.score_samples(x)
        risk = (raw - raw.min()) / (np.ptp(raw) or 1.0)
        hits = tx.loc[flagged].assign(risk=risk[flagged])
        tickets = []
        for n, ((sku, loc), group) in enumerate(hits.groupby(["sku", "location"], sort=True)):
            tickets.append(self._ticket(f"BL-{n + 1:04d}", str(sku), str(loc), group))
        return tickets

    def _ticket(self, tid: str, sku: str, loc: str, group: pd.DataFrame) -> Ticket:
        score = round(float(group["risk"].max()), 3)
        fact = (f"isolation forest flagged {len(group)} transactions of {sku} at {loc}; "
                f"highest anomaly score {score}")
        action = Action(type=self.action_)
        return Ticket(
            ticket_id=tid, txn_ids=[str(t) for t in group["txn_id"]], sku=sku, location=loc,
            risk_score=score, severity=Severity.REVIEW, root_cause=self.cause_,
            confidence=round(self.confidence_, 3), summary=f"Anomaly at {loc} ({sku})",
            explanation=f"Unusual transactions: {fact}.",
            evidence=[EvidenceItem(id="E1", fact=fact, source="isolation_forest")],
            action=action,
            status=(TicketStatus.NO_ACTION if action.type is ActionType.NO_ACTION
                    else TicketStatus.PENDING_APPROVAL).value,
        )


def row_features(data: Dataset) -> np.ndarray:
    """Generic numbers per transaction (no domain rules), missing values as neutral."""
    tx = data.transactions.reset_index(drop=True)
    qty = pd.to_numeric(tx["qty"], errors="coerce").fillna(0.0)
    eaches = pd.to_numeric(tx.get("eaches", qty), errors="coerce").fillna(qty)
    median = eaches.abs().groupby([tx["sku"], tx["type"]]).transform("median").replace(0, 1)
    items = data.items.drop_duplicates("sku").set_index("sku")
    unit_w = pd.to_numeric(tx["sku"].map(items.get("unit_weight_kg", pd.Series(dtype=float))),
                           errors="coerce")
    weight = pd.to_numeric(tx["weight_kg"], errors="coerce") if "weight_kg" in tx else np.nan
    w_ratio = (weight / (eaches.abs() * unit_w)).replace([np.inf, -np.inf], np.nan)
    expected = pd.to_numeric(tx["expected_qty"], errors="coerce")
    variance = ((qty - expected) / expected.abs().clip(lower=1)).fillna(0.0)
    ts = pd.to_datetime(tx["ts"], utc=True, errors="coerce")
    hour = (ts.dt.hour + ts.dt.minute / 60).fillna(12.0)
    cols = [np.log1p(eaches.abs()), np.log((eaches.abs() + 1) / (median + 1)),
            np.log(w_ratio.fillna(1.0).clip(1e-3, 1e3)), variance.clip(-10, 10), hour]
    cols += [(tx["type"] == t).astype(float) for t in TYPES]
    return np.column_stack(cols)


def training_labels() -> list[Expectation]:
    """Labelled cases the baseline may learn from: a small dataset of training seed 1."""
    from evals.expectations import expectations_from_labels
    from sim.generator import GeneratorConfig, generate

    return expectations_from_labels(generate(GeneratorConfig(seed=1, days=7, skus=150)).labels)
