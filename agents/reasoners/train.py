"""Train and measure the offline classifier: ``python -m agents.reasoners.train``.

Data: generator seeds 1-9 of the TRAINING profiles (``sim.generator.profiles``; the
seeds cycle through them, with varied settings) are the ONLY training data. Held-out
profiles and seeds >= 100 are for evaluation here and in the eval suite; training refuses
them. Seeds 1-7 fit the coefficients, 8-9 fit the calibration temperature, then the
coefficients are refitted on 1-9.

Cases: every labelled case becomes an incident over its txn_ids (and one over a random part
of them), labelled with the case's root cause; then every incident the real scorer raises on
the dataset, labelled with the case it covers most, or LEGITIMATE (a false alarm, to be
dismissed with NO_ACTION) when it covers none.

``--measure-only`` skips fitting and prints, on the scorer's incidents of the held-out
profiles, per-class precision / recall / F1, macro-F1, action accuracy and false
confidence of the packaged model.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, f1_score

from agents.features import FEATURE_NAMES, FeatureContext, case_features
from agents.reasoners.offline import MODEL_PATH, LinearModel, OfflineReasoner
from scoring.types import Incident
from sim.generator import GeneratorConfig, generate
from sim.generator.profiles import HELD_OUT_PROFILES, refuse_held_out, training_profile
from tools.view import records
from warehouse.contract import LABEL_COLUMNS, ActionType, RootCause, Severity
from warehouse.dataset import Dataset

TRAIN_SEEDS = tuple(range(1, 10))
CALIBRATION_SEEDS = (8, 9)
HELD_OUT: tuple[GeneratorConfig, ...] = tuple(
    GeneratorConfig(seed=100 + i, profile=name) for i, name in enumerate(HELD_OUT_PROFILES))


def training_config(seed: int) -> GeneratorConfig:
    """Vary profile, size, noise and data completeness across training seeds."""
    return GeneratorConfig(
        seed=seed,
        skus=(200, 300, 450)[seed % 3],
        noise=(0.5, 1.0, 2.0)[(seed // 3) % 3],
        with_weights=seed % 4 != 0,
        with_coordinates=seed % 5 != 0,
        profile=training_profile(seed),
    )


def check_trainable(cfg: GeneratorConfig) -> None:
    """Refuse a held-out profile or an eval seed (>= 100) as training data."""
    refuse_held_out(cfg.profile, "training the offline reasoner")
    if cfg.seed >= 100:
        raise ValueError(f"seed {cfg.seed} is an eval seed; training uses seeds below 100")


def _incident(iid: str, txn_ids: list[str], sku: object, location: object) -> Incident:
    return Incident(
        incident_id=iid, txn_ids=txn_ids, flags=[], risk_score=0.5, severity=Severity.REVIEW,
        sku=sku if isinstance(sku, str) else None,
        location=location if isinstance(location, str) else None,
    )


def scored_incidents(data: Dataset) -> Iterator[tuple[Incident, RootCause, ActionType]]:
    """The scorer's own incidents on ``data`` with the truth they cover.

    An incident that shares txn_ids with labelled cases takes the root cause and action of
    the case it shares most with; one that covers no case is a false alarm: LEGITIMATE,
    to be dismissed with NO_ACTION.
    """
    from scoring import Scorer

    labels = data.labels if data.labels is not None else pd.DataFrame(columns=LABEL_COLUMNS)
    case_of: dict[str, list[int]] = {}
    for i, ids in enumerate(labels["txn_ids"].astype(str).str.split()):
        for t in ids:
            case_of.setdefault(t, []).append(i)
    for inc in Scorer().fit(data).score_batch(data).incidents:
        hits = Counter(i for t in inc.txn_ids for i in case_of.get(t, []))
        if not hits:
            yield inc, RootCause.LEGITIMATE, ActionType.NO_ACTION
            continue
        row = labels.iloc[hits.most_common(1)[0][0]]
        yield inc, RootCause(row["root_cause"]), ActionType(row["action"])


def labelled_incidents(cfg: GeneratorConfig
                       ) -> Iterator[tuple[Incident, RootCause, FeatureContext]]:
    """Incidents of one generated dataset with their true root cause.

    The labelled cases themselves (whole and in part), then every incident the scorer
    raises, matched to the cases (:func:`scored_incidents`).
    """
    data = generate(cfg)
    ctx = FeatureContext(data)
    rng = np.random.default_rng(cfg.seed)
    labels = data.labels if data.labels is not None else pd.DataFrame()
    for row in records(labels):
        ids = str(row.txn_ids).split()
        cause = RootCause(row.root_cause)
        yield _incident(f"{cfg.seed}-{row.case_id}", ids, row.sku, row.location), cause, ctx
        if len(ids) > 1:
            part = sorted(rng.choice(ids, size=int(rng.integers(1, len(ids))), replace=False))
            yield _incident(f"{cfg.seed}-{row.case_id}-p", part, row.sku, row.location), cause, ctx
    for incident, cause, _ in scored_incidents(data):
        yield incident, cause, ctx


def feature_table(configs: list[GeneratorConfig]
                  ) -> tuple[np.ndarray, np.ndarray, list[dict[str, float]], np.ndarray]:
    """Feature matrix, labels, raw feature dicts and the seed of each row."""
    rows, ys, seeds = [], [], []
    for cfg in configs:
        check_trainable(cfg)
        for incident, cause, ctx in labelled_incidents(cfg):
            rows.append(case_features(incident, ctx))
            ys.append(cause.value)
            seeds.append(cfg.seed)
    x = np.array([[r[n] for n in FEATURE_NAMES] for r in rows], dtype=float)
    return x, np.array(ys), rows, np.array(seeds)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, LogisticRegression]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=0.5, max_iter=5000, class_weight="balanced")
    clf.fit((x - mean) / scale, y)
    return mean, scale, clf


def _as_model(mean: np.ndarray, scale: np.ndarray, clf: LogisticRegression, t: float
              ) -> LinearModel:
    return LinearModel(features=FEATURE_NAMES, classes=tuple(RootCause(c) for c in clf.classes_),
                       mean=mean, scale=scale, coef=clf.coef_, intercept=clf.intercept_,
                       temperature=t)


def _temperature(model: LinearModel, rows: list[dict], y: np.ndarray) -> float:
    """The softmax temperature minimising negative log-likelihood on held-back rows."""
    index = {c.value: i for i, c in enumerate(model.classes)}
    best_t, best_nll = 1.0, float("inf")
    for t in np.arange(0.3, 4.01, 0.05):
        m = LinearModel(**{**model.__dict__, "temperature": float(t)})
        nll = -np.mean([np.log(max(m.predict_proba(r)[index[c]], 1e-12))
                        for r, c in zip(rows, y, strict=True)])
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def fit_and_save() -> LinearModel:
    """Fit on seeds 1-9 (temperature on 8-9) and write ``offline_model.json``."""
    configs = [training_config(s) for s in TRAIN_SEEDS]
    x, y, rows, seeds = feature_table(configs)
    fit_mask = ~np.isin(seeds, CALIBRATION_SEEDS)
    mean, scale, clf = _fit(x[fit_mask], y[fit_mask])
    t = _temperature(_as_model(mean, scale, clf, 1.0),
                     [r for r, m in zip(rows, fit_mask, strict=True) if not m], y[~fit_mask])
    mean, scale, clf = _fit(x, y)
    model = _as_model(mean, scale, clf, t)
    MODEL_PATH.write_text(json.dumps({
        "trained_on_seeds": list(TRAIN_SEEDS),
        "trained_on_profiles": sorted({c.profile for c in configs}),
        "features": list(FEATURE_NAMES),
        "classes": [c.value for c in model.classes],
        "mean": np.round(mean, 6).tolist(),
        "scale": np.round(scale, 6).tolist(),
        "coef": np.round(clf.coef_, 6).tolist(),
        "intercept": np.round(clf.intercept_, 6).tolist(),
        "temperature": round(t, 3),
    }, indent=1) + "\n", encoding="utf-8")
    print(f"trained on {len(y)} incidents from seeds {TRAIN_SEEDS}; temperature {t:.2f}")
    return LinearModel.load()


def measure(model: LinearModel) -> float:
    """Print figures on the scorer's incidents of the held-out seeds; returns macro-F1.

    Per-class precision / recall / F1, macro-F1, action accuracy (the policy's action type
    against the labelled one; NO_ACTION for false alarms) and false confidence (a verdict
    at confidence >= 0.8 that is wrong).
    """
    from agents.nodes.gather_context import GatherContext
    from agents.policy import draft_action
    from agents.state import TicketState
    from tools.view import WarehouseView

    reasoner = OfflineReasoner(model)
    truth, pred, conf, acts = [], [], [], []
    for cfg in HELD_OUT:
        data = generate(cfg)
        view = WarehouseView(data)
        gather = GatherContext(view, FeatureContext.of(view))
        for incident, cause, action in scored_incidents(data):
            case = gather.gather(TicketState(ticket_id=incident.incident_id, incident=incident))
            verdict = reasoner.classify(case)
            drafted = draft_action(verdict.root_cause, case, view).action.type
            truth.append(cause.value)
            pred.append(verdict.root_cause.value)
            conf.append(verdict.confidence)
            acts.append(drafted is action)
    print(f"held-out profiles {[c.profile for c in HELD_OUT]}: {len(truth)} scorer incidents "
          f"({sum(t == 'LEGITIMATE' for t in truth)} false alarms)")
    print(classification_report(truth, pred, digits=3, zero_division=0))
    wrong_sure = np.mean([(t != p) and c >= 0.8 for t, p, c in zip(truth, pred, conf, strict=True)])
    macro = float(f1_score(truth, pred, average="macro"))
    print(f"macro-F1 {macro:.3f}; action accuracy {np.mean(acts):.3f}; "
          f"false confidence (>= 0.8 and wrong) {wrong_sure:.3f}")
    return macro


def main() -> None:
    """Fit (unless --measure-only) and print held-out figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure-only", action="store_true")
    args = parser.parse_args()
    model = LinearModel.load() if args.measure_only else fit_and_save()
    measure(model)


if __name__ == "__main__":
    main()
