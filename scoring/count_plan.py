"""The risk-ranked cycle-count plan: which locations to count today, and why.

Each (sku, location) record gets a probability that the system balance differs from the
shelf (a logistic regression over :mod:`scoring.count_features`, trained on simulated sites
that know both balances) and an expected size of the error in eaches (a ridge regression of
``log1p(|error|)`` on the same signals, fitted on the wrong records). A location's score is
the probability that any of its records is wrong, recalibrated on the training sites (Platt
scaling of the combined probability); its expected error value is the sum over its records
of probability x expected eaches x unit cost. The plan is the top N locations by expected
error value, naming the SKU when one record carries most of it.

The fitted parameters live in ``scoring/count_plan.json`` (``python -m evals.count_plan
train`` writes them; ``python -m evals.count_plan`` prints the held-out coverage and
calibration).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from scoring.count_features import FEATURES, FeatureParams, count_features
from scoring.types import Flag
from warehouse.dataset import Dataset

MODEL_PATH = Path(__file__).with_name("count_plan.json")
PLAN_COLUMNS = ["rank", "location", "sku", "score", "expected_error_value", "reasons",
                "location_type", "skus", "last_count_ts"]
"""Columns of a plan (``plan.csv``), in order."""


@dataclass(frozen=True)
class PlanParams:
    """How the plan is cut and worded.

    Attributes:
        sku_share: a location's plan line names the SKU whose record carries at least this
            share of the location's expected error value (else the whole bin is counted).
        reasons: signals quoted per line (the strongest contributions to its probability).
        stocked_only: plan only storage locations (pick, reserve, bulk, cage); docks,
            staging and other pass-through areas are left to their own checks.
    """

    sku_share: float = 0.5
    reasons: int = 3
    stocked_only: bool = True


class CountPlanModel(BaseModel):
    """The fitted count-plan model (what ``count_plan.json`` holds)."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    size_coef: list[float] = Field(description="ridge on log1p(|error| eaches), wrong records")
    size_intercept: float
    platt_a: float = Field(description="location recalibration: sigmoid(a * logit(p) + b)")
    platt_b: float
    trained_on: list[str] = Field(default_factory=list, description="training sites")

    @classmethod
    def load(cls, path: Path | str | None = None) -> CountPlanModel:
        """The model at ``path`` (the packaged one by default)."""
        return cls.model_validate_json(Path(path or MODEL_PATH).read_text())

    def save(self, path: Path | str | None = None) -> None:
        """Write the model as JSON."""
        Path(path or MODEL_PATH).write_text(
            json.dumps(self.model_dump(), indent=1) + "\n")

    def _z(self, frame: pd.DataFrame) -> np.ndarray:
        x = frame[self.features].to_numpy(dtype=float)
        return (x - np.asarray(self.mean)) / np.asarray(self.scale)

    def record_probability(self, frame: pd.DataFrame) -> np.ndarray:
        """P(record wrong) for each row of a :func:`count_features` frame."""
        return _sigmoid(self._z(frame) @ np.asarray(self.coef) + self.intercept)

    def record_size(self, frame: pd.DataFrame) -> np.ndarray:
        """Expected |error| in eaches of each record, were it wrong (at least 1)."""
        log_size = self._z(frame) @ np.asarray(self.size_coef) + self.size_intercept
        return np.maximum(1.0, np.expm1(np.clip(log_size, 0.0, 12.0)))

    def contributions(self, frame: pd.DataFrame) -> np.ndarray:
        """Each feature's push on each record's log-odds (coef x standardised value)."""
        return self._z(frame) * np.asarray(self.coef)

    def location_probability(self, combined: np.ndarray) -> np.ndarray:
        """Recalibrated P(any record at the location wrong) from the combined probability."""
        p = np.clip(combined, 1e-6, 1 - 1e-6)
        return _sigmoid(self.platt_a * np.log(p / (1 - p)) + self.platt_b)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def score_records(data: Dataset, flags: Sequence[Flag], model: CountPlanModel,
                  features: FeatureParams | None = None) -> pd.DataFrame:
    """Every record's signals with ``p_wrong``, ``size`` (eaches) and ``eev`` (money)."""
    return score_frame(count_features(data, flags, features), model)


def score_frame(frame: pd.DataFrame, model: CountPlanModel) -> pd.DataFrame:
    """A :func:`count_features` frame with ``p_wrong``, ``size`` and ``eev`` added."""
    frame = frame.copy()
    if frame.empty:
        return frame.assign(p_wrong=[], size=[], eev=[])
    frame["p_wrong"] = model.record_probability(frame)
    frame["size"] = model.record_size(frame)
    frame["eev"] = frame["p_wrong"] * frame["size"] * frame["unit_cost"]
    return frame


def locations_ranked(records: pd.DataFrame, model: CountPlanModel,
                     params: PlanParams | None = None) -> pd.DataFrame:
    """One row per location, highest expected error value first (ties: location id).

    Columns: location, score, expected_error_value, expected_error_eaches, top_sku,
    top_share, location_type,
    skus (records there), last_count_ts (latest count of any record there), combined (the
    records' probabilities combined as if independent, before recalibration).
    """
    p = params or PlanParams()
    recs = records
    if p.stocked_only:
        recs = recs[recs["location_type"].isin(("PICK", "RESERVE", "BULK", "CAGE"))]
    if recs.empty:
        return pd.DataFrame(columns=["location", "score", "expected_error_value",
                                     "expected_error_eaches", "top_sku",
                                     "top_share", "location_type", "skus", "last_count_ts",
                                     "combined"])
    recs = recs.assign(log_ok=np.log1p(-np.clip(recs["p_wrong"], 0, 1 - 1e-9)),
                       p_size=recs["p_wrong"] * recs["size"])
    top = recs.sort_values(["location", "eev", "sku"], ascending=[True, False, True]) \
        .drop_duplicates("location")[["location", "sku", "eev"]].set_index("location")
    g = recs.groupby("location", sort=True)
    out = pd.DataFrame({
        "combined": 1 - np.exp(g["log_ok"].sum()),
        "expected_error_value": g["eev"].sum(),
        "expected_error_eaches": g["p_size"].sum(),
        "location_type": g["location_type"].first(),
        "skus": g.size(),
        "last_count_ts": g["last_count_ts"].max(),
    })
    out["top_sku"] = top["sku"]
    out["top_share"] = np.where(out["expected_error_value"] > 0,
                                top["eev"] / out["expected_error_value"].where(
                                    out["expected_error_value"] > 0, 1.0), 0.0)
    out["score"] = model.location_probability(out["combined"].to_numpy())
    out = out.reset_index().sort_values(  # eaches break ties where unit costs are unknown
        ["expected_error_value", "expected_error_eaches", "location"],
        ascending=[False, False, True], kind="stable")
    return out.reset_index(drop=True)


def count_plan(data: Dataset, flags: Sequence[Flag], *, top: int,
               model: CountPlanModel | None = None, params: PlanParams | None = None,
               features: FeatureParams | None = None) -> pd.DataFrame:
    """The day's count plan: the ``top`` locations most likely to hold a wrong record.

    Args:
        data: the site's dataset (or a store snapshot).
        flags: the scorer's flags on the same log.
        top: how many locations to plan.
        model: fitted parameters (the packaged ones by default).
        params: how the plan is cut and worded.
        features: how the signals are measured.

    Returns:
        Columns :data:`PLAN_COLUMNS`, ranked 1..N by expected error value; ``sku`` is empty
        where the whole location should be counted.
    """
    model = model or CountPlanModel.load()
    p = params or PlanParams()
    records = score_records(data, flags, model, features)
    if records.empty:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    ranked = locations_ranked(records, model, p).head(top)
    contrib = pd.DataFrame(model.contributions(records), columns=model.features,
                           index=records.index)
    by_key = records.set_index(["location", "sku"])
    key_index = {k: i for i, k in enumerate(by_key.index)}
    rows = []
    for rank, line in enumerate(ranked.to_dict("records"), start=1):
        named = line["top_sku"] if line["top_share"] >= p.sku_share else ""
        at = key_index[(line["location"], line["top_sku"])]
        last = line["last_count_ts"]
        rows.append({
            "rank": rank, "location": line["location"], "sku": named,
            "score": round(float(line["score"]), 4),
            "expected_error_value": round(float(line["expected_error_value"]), 2),
            "reasons": "; ".join(reasons(records.iloc[at], contrib.iloc[at], p.reasons)),
            "location_type": line["location_type"], "skus": int(line["skus"]),
            "last_count_ts": "" if pd.isna(last) else pd.Timestamp(last).isoformat(),
        })
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def plan_site(data: Dataset, *, top: int, model: CountPlanModel | None = None,
              params: PlanParams | None = None,
              progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Fit the scorer on ``data``, score it and plan the ``top`` locations to count.

    Raises:
        ValueError: ``data`` has no transactions.
    """
    from scoring.scorer import Scorer

    if len(data.transactions) == 0:
        raise ValueError("no transactions to plan from")
    if progress:
        progress("fitting the scorer")
    scorer = Scorer().fit(data)
    flags = scorer.score_batch(data, progress=progress).flags
    if progress:
        progress("ranking locations")
    return count_plan(data, flags, top=top, model=model, params=params)


def reasons(rec: pd.Series, contrib: pd.Series, limit: int) -> list[str]:
    """The strongest signals raising a record's probability, in words with their figures.

    One sentence per topic (the flags, the last count, the balance, ...), so a record whose
    flags push several features says so once.
    """
    said: dict[str, str] = {}
    for name in contrib.sort_values(ascending=False, kind="stable").index:
        if len(said) >= limit or contrib[name] <= 0:
            break
        topic = _TOPIC.get(name, name)
        text = _reason(topic, rec)
        if text and topic not in said:
            said[topic] = text
    if not said:
        return [f"{abs(rec['balance']) * rec['unit_cost']:.2f} on hand"]
    return list(said.values())


_TOPIC = {
    "flags_log": "flags", "open_flags_log": "flags", "max_flag_score": "flags",
    "open_max_flag_score": "flags", **{f: "flags" for f in FEATURES if f.startswith("flags_")},
    "unresolved_var_log": "count", "last_var_log": "count",
    "went_negative": "negative", "ends_negative": "negative",
    "moves_since_count_log": "handling", "eaches_since_count_log": "handling",
    **{f: "type" for f in FEATURES if f.startswith("type_")},
}
"""Features that one sentence of the reasons speaks for."""


def _reason(topic: str, r: pd.Series) -> str | None:
    """One topic in words, or None where its figures say nothing (e.g. no flags)."""
    sku = r["sku"]
    if topic == "flags":
        if not r["flags"]:
            return None
        fresh = (f", {int(r['open_flags'])} since the last count"
                 if r["counted"] and r["open_flags"] else "")
        plural = "s" if r["flags"] != 1 else ""
        return (f"{int(r['flags'])} scorer flag{plural} on {sku} here{fresh} "
                f"({r['flag_codes']}; strongest {r['max_flag_score']:.2f})")
    if topic == "count":
        if not r["last_var"]:
            return None
        left = (f", {r['unresolved_var']:g} EA not corrected since" if r["unresolved_var"]
                else ", corrected since")
        return f"last count {r['last_var']:+g} EA off{left}"
    if topic == "negative":
        if r["ends_negative"]:
            return f"balance {r['balance']:g} EA, below zero"
        return "balance went below zero since the last count" if r["went_negative"] else None
    if topic == "handling":
        if not r["moves_since_count"]:
            return None
        return (f"{int(r['moves_since_count'])} movements ({r['eaches_since_count']:g} EA) "
                "since the last count")
    if topic == "type":
        return f"{r['location_type']} location"
    texts = {
        "location_flags_log": f"{int(r['location_flags'])} flags on other SKUs at this bin"
        if r["location_flags"] else None,
        "sku_flags_elsewhere_log": f"{int(r['sku_flags_elsewhere'])} flags on {sku} elsewhere"
        if r["sku_flags_elsewhere"] else None,
        "neighbour_flags_log": f"{int(r['neighbour_flags'])} flags in neighbouring bins"
        if r["neighbour_flags"] else None,
        "counted": "never counted" if not r["counted"] else None,
        "days_since_count_log": "never counted" if not r["counted"]
        else f"not counted for {r['days_since_count']:.0f} days",
        "location_error_rate": f"{r['location_error_rate']:.0%} of counts at this bin off",
        "sku_error_rate": f"{r['sku_error_rate']:.0%} of {sku} counts off",
        "short_picks_log": f"{int(r['short_picks'])} short picks" if r["short_picks"] else None,
        "picks_per_day_log": f"{r['picks']:g} picks in the log",
        "lookalike_neighbour": "a look-alike SKU in a neighbouring bin"
        if r["lookalike_neighbour"] else None,
        "unit_cost_rel_log": f"unit cost {r['unit_cost']:.2f}",
        "balance_value_rel_log": f"{abs(r['balance']) * r['unit_cost']:.2f} on hand",
        "balance_log": f"{r['balance']:g} EA on the record",
    }
    return texts.get(topic)


__all__ = ["FEATURES", "PLAN_COLUMNS", "CountPlanModel", "PlanParams", "count_plan",
           "locations_ranked", "plan_site", "score_frame", "score_records"]
