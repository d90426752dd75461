"""The offline reasoner: no network, no key, deterministic. The default, and every fallback.

Classification: an explicit rule where the evidence is unambiguous (one payload under two
ids is an integration fault), otherwise a multinomial logistic regression over
:data:`agents.features.FEATURE_NAMES`, temperature-calibrated on held-back training cases and
stored as plain JSON coefficients (``offline_model.json``, written by
``python -m agents.reasoners.train``). Inference is a few numpy products.

Explanation: ``prompts/offline_explain/<ROOT_CAUSE>.md.j2`` templates over
:func:`agents.narrative.story` (what happened, from the evidence's reason codes, with their
numbers and ids), the mechanism the evidence shows and the runner-up cause.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from agents.case import Alternative, CaseFile, Classification, Explanation, ReasonerUsage
from agents.narrative import mechanism, story
from agents.recount import count_in
from prompts import preload, render
from scoring.notes import doubtful, note_causes
from warehouse.contract import Action, EvidenceItem, RootCause

MODEL_PATH = Path(__file__).with_name("offline_model.json")
_CITED = re.compile(r"\[(E\d+)\]")
ALTERNATIVES = 3
"""How many runner-up causes a classification lists, with their probabilities."""

# Words that mark an evidence fact as bearing on a root cause (for choosing what to cite).
CITE_WORDS: dict[RootCause, tuple[str, ...]] = {
    RootCause.MIS_SCAN: ("look-alike", "lookalike", "weight", "scan", "device", "without stock"),
    RootCause.UOM_MASTER_DATA: ("case", "pack", "weight", "ratio", "master", "variance"),
    RootCause.SLOTTING: ("neighbour", "home", "cage", "limit", "slot", "putaway", "variance"),
    RootCause.RECEIVING_ERROR: ("asn", "expected", "receipt", "received", "po"),
    RootCause.SHRINKAGE: ("adjust", "shift", "user", "value", "short", "written"),
    RootCause.SYSTEM_SYNC: ("duplicate", "identical", "twice", "late", "negative"),
    RootCause.LEGITIMATE: ("promotion", "replenish", "relocation", "volume", "bulk"),
}


@dataclass(frozen=True)
class LinearModel:
    """A calibrated multinomial logistic regression as plain arrays."""

    features: tuple[str, ...]
    classes: tuple[RootCause, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    temperature: float

    @staticmethod
    def load(path: Path = MODEL_PATH) -> LinearModel:
        """Read the JSON written by the training script."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        return LinearModel(
            features=tuple(raw["features"]),
            classes=tuple(RootCause(c) for c in raw["classes"]),
            mean=np.asarray(raw["mean"], dtype=float),
            scale=np.asarray(raw["scale"], dtype=float),
            coef=np.asarray(raw["coef"], dtype=float),
            intercept=np.asarray(raw["intercept"], dtype=float),
            temperature=float(raw["temperature"]),
        )

    def predict_proba(self, features: dict[str, float]) -> np.ndarray:
        """Class probabilities for one feature dict (a missing feature counts as 0)."""
        x = np.array([features.get(name, 0.0) for name in self.features], dtype=float)
        z = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        z = z / self.temperature
        e = np.exp(z - z.max())
        return e / e.sum()


@lru_cache(maxsize=1)
def _default_model() -> LinearModel:
    return LinearModel.load()


NOTE_WEIGHT = 0.6
"""How much the reading of one floor note weighs against the model: the verdict is
``(1 - w) * model + w * notes`` with ``w = 1 - (1 - NOTE_WEIGHT) ** notes`` (two notes
0.84). The person who posted an adjustment saying "wrong barcode" is the best witness of
it there is; the model was trained on logs without notes."""
DOUBT_CONFIDENCE = 0.7
"""The most confidence a verdict keeps when a note says the operator was unsure ("?")."""
CODE_ODDS = 3.0
"""How much each reason code that is a cause's signature (CONTRACT.md section 2,
:data:`SIGNATURE_CODES`) multiplies that cause's odds; at most two codes count per cause."""
R = RootCause
SIGNATURE_CODES: dict[str, RootCause] = {
    "AWAY_FROM_HOME": R.SLOTTING, "HIGH_VALUE_OUTSIDE_CAGE": R.SLOTTING,
    "OVER_WEIGHT_LIMIT": R.SLOTTING, "BIN_OVERFILL": R.SLOTTING,
    "WEIGHT_RATIO_CONSTANT": R.UOM_MASTER_DATA, "SAME_SIGN_VARIANCES": R.UOM_MASTER_DATA,
    "DOUBLE_SCAN": R.MIS_SCAN, "OFFSETTING_ADJUSTMENTS": R.MIS_SCAN,
    "PICK_WITHOUT_STOCK": R.MIS_SCAN,
    "LATE_INFLOW_HEALS": R.SYSTEM_SYNC,
}
"""Reason codes that name one cause's mechanism: a putaway off home or outside the cage is
slotting, a steady weight ratio or same-sign variances in many bins are master data (a
whole-pack variance is not: a supplier short by one case gives it too), a pick from an
empty bin is a wrong-location scan, a balance a late inflow heals is the interface. A
mirrored variance is slotting on one SKU in two bins, a mis-scan between two SKUs."""


def _signature_causes(case: CaseFile) -> dict[RootCause, int]:
    counts: dict[RootCause, set[str]] = {}
    for f in case.incident.flags:
        cause = SIGNATURE_CODES.get(f.code)
        if f.code == "MIRRORED_VARIANCE":
            other = f.numbers.get("other_sku")
            cause = R.SLOTTING if other in (None, f.sku) else R.MIS_SCAN
        if cause is not None:
            counts.setdefault(cause, set()).add(f.code)
    return {c: len(codes) for c, codes in counts.items()}


STAFF_RECORD_NEEDS: dict[RootCause, tuple[frozenset[str], str | None]] = {
    R.MIS_SCAN: (frozenset({"adjustments", "quantity"}), "OFFSETTING_ADJUSTMENTS"),
    R.UOM_MASTER_DATA: (frozenset({"adjustments"}), None),
    R.SYSTEM_SYNC: (frozenset({"quantity"}), None),
    R.SHRINKAGE: (frozenset({"quantity"}), None)}
"""Cause -> (detectors, code): evidence only from these detectors shows the cause only
through this reason code or a note naming the cause. Adjustments show a mix-up through the
code it was mixed up with and a wrong pack through the note of the person who found it;
order sizes and order rates show demand, never which code was scanned, an interface
fault (an event posted twice or late is the sync and stock detectors') nor a loss (a sale
is a recorded movement; stock that walks out shows in counts and write-offs). A lone adjustment
shows neither, whatever its size: an unexplained write-off is a loss (SHRINKAGE) until a
note says otherwise; the rest is left to the model."""


def unsupported_by_staff_records(case: CaseFile) -> set[RootCause]:
    """Causes :data:`STAFF_RECORD_NEEDS` rules out for this case's evidence."""
    flags = case.incident.flags
    if not flags:
        return set()
    detectors = {f.detector for f in flags}
    codes = {f.code for f in flags}
    noted = note_causes(case.notes)
    return {c for c, (within, code) in STAFF_RECORD_NEEDS.items()
            if detectors <= within and code not in codes and c not in noted}


FIX_CAUSES = frozenset({R.MIS_SCAN, R.UOM_MASTER_DATA, R.SHRINKAGE})
"""Causes a staff record can name that leave something to fix."""


def staff_record_beside_demand(case: CaseFile) -> bool:
    """An adjustment that names a cause to fix, grouped with the same code's order spikes.

    The partner posting (OFFSETTING_ADJUSTMENTS) or a note naming a mix-up, a pack or a
    loss is the staff's own record of a problem; busy ordering of the same code the same
    weeks explains the spikes, not that record, so it cannot dismiss the case.
    """
    flags = case.incident.flags
    detectors = {f.detector for f in flags}
    if detectors != {"adjustments", "quantity"}:
        return False
    partner = any(f.code == "OFFSETTING_ADJUSTMENTS" for f in flags)
    return partner or bool(FIX_CAUSES & set(note_causes(case.notes)))


def _written_off(case: CaseFile) -> bool:
    """Whether the flagged adjustments take stock away on balance (False without any)."""
    eaches = [f.numbers.get("eaches") for f in case.incident.flags if f.detector == "adjustments"]
    return sum(float(e) for e in eaches if isinstance(e, int | float)) < 0


def weigh_signals(proba: np.ndarray, classes: tuple[RootCause, ...], case: CaseFile
                  ) -> tuple[np.ndarray, list[str]]:
    """The model's probabilities updated by signature codes and notes, and what moved them.

    A cause the evidence's detectors alone cannot show is ruled out first
    (:func:`unsupported_by_staff_records`). A reason code that is one cause's mechanism
    multiplies its odds (:data:`CODE_ODDS`).
    A note is evidence like any other: it pulls belief towards the cause it points at (a
    mixture with the notes' own distribution, :data:`NOTE_WEIGHT`). It never names an
    action: the policy drafts that from the cause and the evidence.
    """
    said = []
    ruled_out = unsupported_by_staff_records(case)
    if ruled_out and R.SHRINKAGE in classes:
        out = np.array([c in ruled_out for c in classes])
        moved = float(proba[out].sum())
        proba = np.where(out, 0.0, proba)
        if _written_off(case):  # an unexplained write-off is a loss until shown otherwise
            proba[classes.index(R.SHRINKAGE)] += moved
        proba = proba / float(proba.sum())
        said += [f"this evidence alone cannot show {c.value}" for c in sorted(ruled_out)]
    if R.LEGITIMATE in classes and staff_record_beside_demand(case):
        proba = np.where([c is R.LEGITIMATE for c in classes], 0.0, proba)
        proba = proba / float(proba.sum())
        said.append("order spikes do not explain the staff's record of a problem")
    signature = _signature_causes(case)
    if signature:
        odds = np.array([CODE_ODDS ** min(signature.get(c, 0), 2) for c in classes])
        proba = proba * odds / float(np.sum(proba * odds))
        said += [f"{c.value} signature in the reason codes" for c in signature]
    counts = note_causes(case.notes)
    if not counts:
        return proba, said
    total = sum(counts.values())
    w = 1.0 - (1.0 - NOTE_WEIGHT) ** total
    notes = np.array([counts.get(c, 0) / total for c in classes])
    said += [f"{n} note{'s' if n > 1 else ''} pointing at {c.value}" for c, n in counts.items()]
    return (1.0 - w) * proba + w * notes, said


def rule_verdict(features: dict[str, float], codes: list[str] | None = None
                 ) -> tuple[RootCause, float, str] | None:
    """A verdict the evidence makes unambiguous, or None to let the model decide.

    Args:
        features: the case's signals.
        codes: the incident's reason codes, when any: the rule then also needs the
            scorer's ``DUPLICATE_PAYLOAD`` (two order lines alike but for their orders are
            not one event twice).
    """
    confirmed = not codes or "DUPLICATE_PAYLOAD" in codes
    if features.get("dup_payload", 0.0) >= 1.0 and confirmed:
        return RootCause.SYSTEM_SYNC, 0.97, "the same payload was posted under two ids"
    return None


class OfflineReasoner:
    """Classifies from ``CaseFile.features`` and explains from templates; no I/O.

    Args:
        model: the linear model; by default the packaged ``offline_model.json``.
    """

    name = "offline"

    def __init__(self, model: LinearModel | None = None) -> None:
        self.model = model or _default_model()
        preload("offline_explain/summary", "offline_explain/_body",
                *(f"offline_explain/{c.value}" for c in RootCause))

    def classify(self, case: CaseFile) -> Classification:
        """Rule first, then the calibrated model; cites the evidence that bears on the cause."""
        rule = rule_verdict(case.features, case.incident.codes)
        proba, signals = weigh_signals(self.model.predict_proba(case.features),
                                       self.model.classes, case)
        if rule is not None:
            cause, confidence, why = rule
        else:
            best = int(np.argmax(proba))
            cause, confidence = self.model.classes[best], float(proba[best])
            why = f"closest to the learned signature of {cause.value}"
            if signals:
                why += " (" + "; ".join(signals) + ")"
            if doubtful(case.notes):
                confidence = min(confidence, DOUBT_CONFIDENCE)
        cited = [e.id for e in cited_evidence(case.evidence, cause) if e.id]
        ids = ", ".join(f"[{i}]" for i in cited)
        return Classification(root_cause=cause, confidence=round(confidence, 3),
                              rationale=f"{why}{'; see ' + ids if ids else ''}",
                              cited_evidence=cited, alternatives=self.alternatives(proba, cause))

    def alternatives(self, proba: np.ndarray, chosen: RootCause) -> list[Alternative]:
        """The other causes the model weighed, likeliest first (the runner-ups)."""
        ranked = sorted(zip(self.model.classes, proba, strict=True), key=lambda cp: -cp[1])
        return [Alternative(root_cause=c, probability=round(float(p), 3))
                for c, p in ranked if c is not chosen][:ALTERNATIVES]

    def explain(
        self, case: CaseFile, classification: Classification, action: Action
    ) -> Explanation:
        """Fill the root cause's template with the cited evidence, quoted verbatim."""
        cause = classification.root_cause
        cited = cited_evidence(case.evidence, cause, prefer=classification.cited_evidence)
        facts = " ".join(e.fact for e in case.evidence)
        where = [v for v in (case.incident.sku, case.incident.location) if v and v in facts]
        runner_up = classification.alternatives[0].root_cause.value \
            if classification.alternatives else None
        ctx = {"cause": cause.value, "cited": cited, "where": where, "action": action,
               "certain": classification.confidence >= 0.8,
               "story": story(cause, case.evidence), "mechanism": mechanism(cause, case.evidence),
               "runner_up": runner_up, "count": count_in(case.evidence)}
        explanation = render(f"offline_explain/{cause.value}", **ctx).strip()
        return Explanation(
            summary=render("offline_explain/summary", **ctx).strip(),
            explanation=explanation,
            cited_evidence=list(dict.fromkeys(_CITED.findall(explanation))),
        )

    def usage(self, case: CaseFile) -> ReasonerUsage:
        """The offline reasoner costs no model calls."""
        return ReasonerUsage()


def cited_evidence(evidence: list[EvidenceItem], cause: RootCause, *,
                   prefer: list[str] | None = None, limit: int = 3) -> list[EvidenceItem]:
    """Up to ``limit`` evidence items: preferred ids, then facts that bear on ``cause``."""
    usable = [e for e in evidence if e.id]
    chosen = [e for e in usable if prefer and e.id in prefer]
    words = CITE_WORDS[cause]
    bearing = [e for e in usable if e not in chosen
               and any(w in e.fact.lower().replace("_", " ") for w in words)]
    # the scorer's reason codes carry the numbers that made the case: quote them first
    chosen += sorted(bearing, key=lambda e: not e.source.startswith("scorer:"))
    if not chosen:  # nothing bears on the cause by name: cite what there is
        chosen = usable
    return chosen[:limit]
