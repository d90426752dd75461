"""Train the cycle-count plan on simulated sites and check it on held-out ones.

``python -m evals.count_plan`` prints, per held-out site and overall, the share of the money
in wrong records (system != shelf at the end of the log) that the plan's top 2% of
locations would find, the same for an ABC plan (pick lines x unit cost), and the
calibration of the plan's score (Brier score, reliability table).
``python -m evals.count_plan train`` refits ``scoring/count_plan.json`` on the training
sites (cross-fitted location recalibration).

Training and held-out sites differ in seed and shape (days, SKUs, noise, count rate) and
the held-out side adds the generator's held-out site profiles (blind counts, no scales,
another currency, direct receiving: :mod:`sim.generator.profiles`), so the held-out figures
are for sites the model has not seen.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.count_features import FEATURES, count_features
from scoring.count_plan import CountPlanModel, PlanParams, locations_ranked, score_frame
from scoring.scorer import Scorer
from sim.generator.config import GeneratorConfig
from sim.generator.truth import generate_with_truth

TOP_SHARE = 0.02
"""The plan's top share of a site's locations whose coverage is the headline figure."""
COVERAGE_TARGET = 0.5
"""Share of the money in wrong records the top 2% must find."""
ABC_FACTOR_TARGET = 3.0
"""How many times the ABC plan's coverage the plan must reach."""
STORAGE = ("PICK", "RESERVE", "BULK", "CAGE")
RECORD_C = 0.3
"""Inverse L2 strength of the record model's logistic regression (on standardised signals)."""
SIZE_ALPHA = 10.0
"""L2 strength of the ridge regression of log1p(|error|) on the wrong records."""

DC_TRAINING = ("reference", "pallet-asn", "blind-direct", "nocage-total")
"""The training site profiles with a shelf to count (order exports have none)."""
DC_HELD_OUT = ("pallet-blind", "total-noscale", "yen-pallet")
"""The held-out site profiles with a shelf, never trained on."""
TRAIN_SITES: tuple[GeneratorConfig, ...] = tuple(
    GeneratorConfig(seed=1000 + i, days=(30, 45)[i % 2], skus=(300, 400)[i // 2 % 2],
                    noise=(1.0, 1.5, 0.6)[i % 3], count_fraction=(0.03, 0.05)[i // 4 % 2],
                    profile=DC_TRAINING[i % len(DC_TRAINING)])
    for i in range(8))
HELD_OUT_SITES: tuple[GeneratorConfig, ...] = (
    GeneratorConfig(seed=2001, days=40, skus=350, noise=0.8),
    GeneratorConfig(seed=2002, days=35, skus=500, noise=1.3, count_fraction=0.04),
    GeneratorConfig(seed=2003, days=60, skus=300, noise=1.0, count_fraction=0.02),
    GeneratorConfig(seed=2004, days=30, skus=450, noise=2.0),
    *(GeneratorConfig(seed=3000 + i, days=30, skus=300, profile=p)
      for i, p in enumerate(DC_HELD_OUT)),
)


@dataclass
class Site:
    """One simulated site: its records' signals joined with the end-of-log truth."""

    name: str
    records: pd.DataFrame
    """count_features rows plus ``wrong`` (bool) and ``error`` (|system - shelf| eaches)."""
    money: pd.Series
    """location -> money in wrong records there (all locations, pass-through included)."""
    locations: int
    """locations in the site's master."""


def site_name(cfg: GeneratorConfig) -> str:
    """A short label of a simulated site's shape."""
    return f"{cfg.profile} seed {cfg.seed} {cfg.days}d/{cfg.skus} noise {cfg.noise:g}"


def build_site(cfg: GeneratorConfig) -> Site:
    """Simulate, score and label one site (truth joins the signals, never feeds them)."""
    data, truth = generate_with_truth(cfg)
    flags = Scorer().fit(data).score_batch(data).flags
    records = count_features(data, flags)
    t = truth.assign(error=(truth["system"] - truth["physical"]).abs())
    records = records.merge(t[["sku", "location", "error"]], on=["sku", "location"],
                            how="left")
    records["error"] = records["error"].fillna(0.0)
    records["wrong"] = records["error"] > 0
    cost = data.items.set_index("sku")["unit_cost"].astype(float)
    t["money"] = t["error"] * t["sku"].map(cost).fillna(0.0)
    return Site(site_name(cfg), records, t.groupby("location")["money"].sum(),
                len(data.locations))


def fit(sites: list[Site], *, folds: bool = True) -> CountPlanModel:
    """Fit the record model, the size model and the location recalibration."""
    from sklearn.linear_model import LogisticRegression, Ridge

    stock = [s.records[s.records["location_type"].isin(STORAGE)] for s in sites]
    allrec = pd.concat(stock, ignore_index=True)
    x = allrec[list(FEATURES)].to_numpy(dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0

    def record_fit(frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        z = (frame[list(FEATURES)].to_numpy(dtype=float) - mean) / scale
        lr = LogisticRegression(C=RECORD_C, max_iter=5000).fit(z, frame["wrong"].to_numpy())
        return lr.coef_[0], float(lr.intercept_[0])

    coef, intercept = record_fit(allrec)
    wrong = allrec[allrec["wrong"]]
    zw = (wrong[list(FEATURES)].to_numpy(dtype=float) - mean) / scale
    ridge = Ridge(alpha=SIZE_ALPHA).fit(zw, np.log1p(wrong["error"].to_numpy()))
    model = CountPlanModel(
        features=list(FEATURES), mean=mean.tolist(), scale=scale.tolist(), coef=coef.tolist(),
        intercept=intercept, size_coef=ridge.coef_.tolist(),
        size_intercept=float(ridge.intercept_), platt_a=1.0, platt_b=0.0,
        trained_on=[s.name for s in sites])
    combined, labels = [], []
    for k, site in enumerate(sites):
        held = model
        if folds and len(sites) > 1:
            rest = pd.concat([r for j, r in enumerate(stock) if j != k], ignore_index=True)
            c, b = record_fit(rest)
            held = model.model_copy(update={"coef": c.tolist(), "intercept": b})
        loc = _location_frame(site, held)
        combined.append(loc["combined"].to_numpy())
        labels.append(loc["wrong"].to_numpy())
    p = np.clip(np.concatenate(combined), 1e-6, 1 - 1e-6)
    platt = LogisticRegression(C=1e6, max_iter=5000).fit(
        np.log(p / (1 - p))[:, None], np.concatenate(labels))
    return model.model_copy(update={"platt_a": float(platt.coef_[0][0]),
                                    "platt_b": float(platt.intercept_[0])})


def _location_frame(site: Site, model: CountPlanModel) -> pd.DataFrame:
    """The site's ranked locations with truth: ``wrong`` and ``money`` per location."""
    ranked = locations_ranked(score_frame(site.records, model), model, PlanParams())
    ranked["money"] = ranked["location"].map(site.money).fillna(0.0)
    ranked["wrong"] = ranked["money"] > 0
    return ranked


@dataclass(frozen=True)
class AbcCalendar:
    """An ABC cycle-count calendar, the plan warehouses run without Tally.

    Locations are classed by pick lines x unit cost of what they hold: A the locations
    making up the first ``a_share`` of that value, B the next up to ``b_share``, C the rest;
    each class is counted every ``*_days``. The day's plan takes the most overdue locations
    (days since their last count over their class's interval; never counted: since the log
    began), higher value first among equals.
    """

    a_share: float = 0.80
    b_share: float = 0.95
    a_days: float = 30.0
    b_days: float = 90.0
    c_days: float = 180.0


def abc_value(site: Site) -> pd.Series:
    """Storage locations by pick lines x unit cost of what they hold, highest first."""
    recs = site.records[site.records["location_type"].isin(STORAGE)]
    value = (recs["picks"] * recs["unit_cost"]).groupby(recs["location"]).sum()
    return value.sort_values(ascending=False, kind="stable")


def abc_calendar(site: Site, cal: AbcCalendar | None = None) -> pd.Index:
    """Storage locations in the order an ABC calendar would count them from the log's end."""
    c = cal or AbcCalendar()
    value = abc_value(site)
    share = value.cumsum() / value.sum() if value.sum() else value * 0
    interval = np.where(share.shift(fill_value=0) < c.a_share, c.a_days,
                        np.where(share.shift(fill_value=0) < c.b_share, c.b_days, c.c_days))
    recs = site.records[site.records["location_type"].isin(STORAGE)]
    days = recs.groupby("location")["days_since_count"].min().reindex(value.index)
    frame = pd.DataFrame({"due": days.to_numpy() / interval, "value": value.to_numpy()},
                         index=value.index)
    return frame.sort_values(["due", "value"], ascending=False, kind="stable").index


@dataclass
class SiteResult:
    """Held-out figures of one site."""

    name: str
    top_n: int
    curves: dict[str, np.ndarray]
    """plan / ABC calendar / top value -> cumulative share of the money found, per location
    counted in that order."""
    money: float
    plan_money: float
    abc_money: float
    value_money: float
    brier: float
    scores: np.ndarray
    labels: np.ndarray

    @property
    def plan_coverage(self) -> float:
        """Share of the site's money in error that the plan's top 2% finds."""
        return self.plan_money / self.money if self.money else 0.0


def evaluate(site: Site, model: CountPlanModel) -> SiteResult:
    """Coverage of the top 2% (plan and ABC) and the location score's calibration."""
    ranked = _location_frame(site, model)
    n = max(1, math.ceil(TOP_SHARE * site.locations))
    total = float(site.money.sum())
    plan_money = float(ranked.head(n)["money"].sum())
    def found(order: pd.Index) -> float:
        return float(site.money.reindex(order[:n]).fillna(0.0).sum())

    def curve(order: pd.Index) -> np.ndarray:
        return np.cumsum(site.money.reindex(order).fillna(0.0).to_numpy()) / (total or 1.0)

    abc = abc_calendar(site)
    abc_money = found(abc)
    value_money = found(abc_value(site).index)
    curves = {"plan": curve(pd.Index(ranked["location"])), "ABC calendar": curve(abc),
              "top value": curve(abc_value(site).index)}
    scores = ranked["score"].to_numpy(dtype=float)
    labels = ranked["wrong"].to_numpy(dtype=float)
    brier = float(np.mean((scores - labels) ** 2)) if len(scores) else 0.0
    return SiteResult(site.name, n, curves, total, plan_money, abc_money, value_money, brier,
                      scores, labels)


def reliability(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean score vs observed rate per score bin (bins of equal width; empty ones dropped)."""
    edges = np.linspace(0, 1, bins + 1)
    at = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": at, "score": scores, "wrong": labels})
    g = frame.groupby("bin").agg(n=("score", "size"), mean_score=("score", "mean"),
                                 observed=("wrong", "mean"))
    g.index = [f"{edges[i]:.1f}-{edges[i + 1]:.1f}" for i in g.index]
    return g


def report(results: list[SiteResult]) -> bool:
    """Print the coverage and calibration tables; whether the targets are met."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    table = Table(title=f"cycle-count plan on held-out sites: top {TOP_SHARE:.0%} of locations")
    for col in ("site", "top N", "money in error", "plan covers", "ABC calendar covers",
                "plan / ABC", "top value covers", "plan / value", "Brier"):
        table.add_column(col, justify="left" if col == "site" else "right")
    for r in results:
        table.add_row(r.name, str(r.top_n), f"{r.money:,.0f}", _share(r.plan_money, r.money),
                      _share(r.abc_money, r.money), _ratio(r.plan_money, r.abc_money),
                      _share(r.value_money, r.money), _ratio(r.plan_money, r.value_money),
                      f"{r.brier:.4f}")
    money = sum(r.money for r in results)
    plan = sum(r.plan_money for r in results)
    abc = sum(r.abc_money for r in results)
    value = sum(r.value_money for r in results)
    scores = np.concatenate([r.scores for r in results])
    labels = np.concatenate([r.labels for r in results])
    brier = float(np.mean((scores - labels) ** 2))
    base = float(np.mean((labels.mean() - labels) ** 2))
    table.add_row("all held-out", str(sum(r.top_n for r in results)), f"{money:,.0f}",
                  _share(plan, money), _share(abc, money), _ratio(plan, abc),
                  _share(value, money), _ratio(plan, value), f"{brier:.4f}", style="bold")
    console.print(table)
    rel = Table(title=f"calibration of the location score (held-out; Brier {brier:.4f}, "
                      f"base-rate Brier {base:.4f})")
    for col in ("score bin", "locations", "mean score", "observed wrong"):
        rel.add_column(col, justify="right")
    for name, row in reliability(scores, labels).iterrows():
        rel.add_row(str(name), str(int(row["n"])), f"{row['mean_score']:.3f}",
                    f"{row['observed']:.3f}")
    console.print(rel)
    worst = min(r.plan_coverage for r in results)
    ok = plan / money >= COVERAGE_TARGET and plan >= ABC_FACTOR_TARGET * abc
    console.print(f"targets: top {TOP_SHARE:.0%} covers >= {COVERAGE_TARGET:.0%} "
                  f"(overall {plan / money:.1%}, worst site {worst:.1%}) and >= "
                  f"{ABC_FACTOR_TARGET:g}x the ABC calendar ({_ratio(plan, abc)}): "
                  + ("[green]met[/]" if ok else "[red]not met[/]")
                  + f"; against a fixed top-value list (pick lines x unit cost, the same "
                  f"locations every day) {_ratio(plan, value)}")
    return ok


def plot(results: list[SiteResult], folder: Path) -> list[Path]:
    """Write the reliability diagram and the coverage curves as SVG files in ``folder``."""
    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    scores = np.concatenate([r.scores for r in results])
    labels = np.concatenate([r.labels for r in results])
    rel = reliability(scores, labels)
    fig = Figure(figsize=(5, 4.5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", label="perfect")
    ax.plot(rel["mean_score"], rel["observed"], marker="o", label="held-out locations")
    for (_, row) in rel.iterrows():
        ax.annotate(str(int(row["n"])), (row["mean_score"], row["observed"]), fontsize=7,
                    xytext=(3, -9), textcoords="offset points")
    ax.set(xlabel="plan score (P a record here is wrong)", ylabel="share found wrong",
           title="Count-plan calibration (held-out)", xlim=(0, 1), ylim=(0, 1.05))
    ax.legend(loc="upper left")
    paths = [folder / "count_plan_calibration.svg"]
    fig.savefig(paths[0], format="svg", bbox_inches="tight")
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    for name, style in (("plan", "-"), ("ABC calendar", ":"), ("top value", "--")):
        for i, r in enumerate(results):
            x = np.arange(1, len(r.curves[name]) + 1) / r.top_n * TOP_SHARE
            ax.plot(x, r.curves[name], linestyle=style, color=f"C{i}",
                    label=f"{name}: {r.name}" if name == "plan" else (name if i == 0 else None))
    ax.axvline(TOP_SHARE, color="#999", linewidth=0.8)
    ax.set(xlabel="share of the site's locations counted", ylabel="share of money in error found",
           title="Who finds the money in wrong records", xlim=(0, 0.2), ylim=(0, 1.02))
    ax.legend(fontsize=7, loc="lower right")
    paths.append(folder / "count_plan_coverage.svg")
    fig.savefig(paths[1], format="svg", bbox_inches="tight")
    return paths


def _share(a: float, b: float) -> str:
    return f"{a / b:.1%}" if b else "-"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "inf"


def main(argv: list[str]) -> int:
    """``train`` refits the packaged model; otherwise evaluate it on held-out sites.

    ``--plot DIR`` also writes the reliability diagram and the coverage curves there.
    """
    import argparse

    from rich.progress import track

    parser = argparse.ArgumentParser(prog="python -m evals.count_plan")
    parser.add_argument("action", nargs="?", choices=["eval", "train"], default="eval")
    parser.add_argument("--plot", type=Path, help="folder for the SVG plots")
    args = parser.parse_args(argv)
    if args.action == "train":
        sites = [build_site(c) for c in track(TRAIN_SITES, description="training sites")]
        model = fit(sites)
        model.save()
        print(f"wrote scoring/count_plan.json from {len(sites)} sites")
        return 0
    model = CountPlanModel.load()
    sites = [build_site(c) for c in track(HELD_OUT_SITES, description="held-out sites")]
    results = [evaluate(s, model) for s in sites]
    ok = report(results)
    if args.plot:
        for path in plot(results, args.plot):
            print(f"wrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
