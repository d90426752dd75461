"""What a site's verdicts teach: which flag patterns are this site's normal practice.

A verdict (CONTRACT.md section 6) is about transactions; the flags the scorer raised on
them say what kind of alarm it was. Each flag has a *pattern*: its reason code and its
context (whether the code came alone, whether it fired once or repeatedly, the item's value
and velocity class, the location's type), read at several levels of generality
(:data:`LEVELS`, from code + value + velocity + location type down to the code at this
site). Every flag has a size: its code's number where it has one (the variance in value,
the weight ratio, a write-off's count of write-offs of its item in the detector's window,
...), else how often the code fired in the incident. A verdict votes once
for every pattern among its flags, with the largest size it saw there.

A pattern's false alarms smaller than its smallest confirmed problem make a rule when there
are at least ``min_verdicts`` of them and their posterior mean false-alarm rate reaches
``benign_share`` under a Beta prior of ``prior_strength`` pseudo-verdicts centred on the
least benign of its broader patterns (their prior: the site's share of false alarms). One
rejection teaches a limit where nothing around it was confirmed; where problems were, or
at a site that rarely rejects, more evidence is needed. The rule raises the threshold a
margin past the largest of those false alarms, kept halfway below the smallest
confirmed problem: a real problem of the same pattern with a larger size still alarms. A
flag is judged from its most specific pattern up: the first rule whose limit covers it
decides, and a pattern with a confirmed problem near its size stops the search, so a narrow
context where problems were confirmed is never silenced by a broad rule, and a flag in a
context no verdict saw is judged by the broader pattern it belongs to.

Guardrails (they hold whatever the verdicts say):

- a verdict given by a user on transactions of their own is ignored and listed;
- a rule never applies to an incident that involves a user whose vote made it, and no
  pattern names a user (no rule calls everything one person does normal);
- high-value items (unit cost at or above the ``high_value_quantile`` of the item master,
  or slotted in the cage) are never silenced outright: a flag about one is judged only by
  the patterns of its value class, learned from verdicts on high-value items (at least
  ``high_value_verdicts`` false alarms: one rejection never licenses a dear item), and only
  up to their limit (a larger variance, or a run of write-offs, still alarms); an incident
  about one that only broader rules call normal is returned ``held``, as is one that a rule
  would silence but for a user among its voters;
- a rule is a reason code in a context, never a root cause; the agent layer also keeps
  any root cause from being silenced whole (:mod:`agents.learned`).

Notes in resolutions are never read here: they are data for people, not input to rules.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from scoring.types import Flag, Incident
from warehouse.contract import Resolution
from warehouse.dataset import Dataset


class LearningParams(BaseModel):
    """How much evidence learning needs, and how the contexts are cut."""

    min_verdicts: int = Field(default=1, ge=1,
                              description="false-alarm votes a pattern needs before anything "
                                          "is learned from it")
    benign_share: float = Field(default=0.7, gt=0.5, le=1.0,
                                description="posterior mean false-alarm rate a pattern needs "
                                            "to count as normal practice")
    prior_strength: float = Field(default=2.0, ge=0.0,
                                  description="pseudo-verdicts of the Beta prior on a "
                                              "pattern's false-alarm rate (its mean: the "
                                              "least benign posterior of its broader "
                                              "patterns, whose own prior is the site's "
                                              "share of false alarms)")
    high_value_verdicts: int = Field(default=3, ge=1,
                                     description="false alarms a rule needs before it may "
                                                 "judge a high-value item")
    limit_margin: float = Field(default=1.25, ge=1.0,
                                description="a learned limit with no confirmed problem above "
                                            "it reaches this factor past the largest false "
                                            "alarm")
    cheap_quantile: float = Field(default=0.5, description="unit cost at or below this "
                                                           "quantile of the item master: cheap")
    high_value_quantile: float = Field(default=0.9, description="unit cost at or above this "
                                                                "quantile: high value (the "
                                                                "scorer's own definition)")
    slow_quantile: float = Field(default=0.25, description="daily lines at or below this "
                                                           "quantile of the SKUs: slow mover")
    fast_quantile: float = Field(default=0.75, description="daily lines at or above this "
                                                           "quantile of the SKUs: fast mover")


@dataclass(frozen=True)
class Magnitude:
    """Which number of a flag measures how far off it was, and in what unit."""

    number: str
    unit: str
    ratio: bool = False
    """A ratio: its distance from 1 counts, either way (2.0 and 0.5 are equally far)."""
    threshold: str | None = None
    """The flag's number that holds the detector's own threshold, if it reports one."""
    per: str | None = None
    """The flag's number the magnitude is divided by (a load over its limit)."""

    def of(self, flag: Flag) -> float | None:
        """The flag's magnitude, None when the number is missing."""
        value = flag.numbers.get(self.number)
        if not isinstance(value, int | float) or not math.isfinite(value):
            return None
        if self.per is not None:
            base = flag.numbers.get(self.per)
            if not isinstance(base, int | float) or base <= 0:
                return None
            value = value / base
        if self.ratio:
            return max(value, 1 / value) if value > 0 else None
        return abs(float(value))


MAGNITUDES: dict[str, Magnitude] = {
    "COUNT_VARIANCE": Magnitude("value", "in value (variance x unit cost)"),
    "MIRRORED_VARIANCE": Magnitude("variance", "units"),
    "PACK_MULTIPLE": Magnitude("variance", "units"),
    "NEGATIVE_BALANCE": Magnitude("balance_after", "units"),
    "RECEIPT_QTY_MISMATCH": Magnitude("difference", "units"),
    "VELOCITY_SPIKE": Magnitude("ratio", "x usual"),
    "BIN_OVERFILL": Magnitude("ratio", "x typical"),
    "WEIGHT_MISMATCH": Magnitude("ratio", "x expected weight", ratio=True),
    "DOCK_WEIGHT_MISMATCH": Magnitude("ratio", "x expected weight", ratio=True),
    "OVER_WEIGHT_LIMIT": Magnitude("load_kg", "x the load limit", per="limit_kg"),
    "QTY_OUTLIER": Magnitude("qty", "units"),
    "WRITE_OFF_PATTERN": Magnitude("writeoffs_same_item", "write-offs of the item in the "
                                   "detector's window"),
}
"""Codes whose alarms have a size: learning raises their threshold instead of silencing."""

COUNTED = Magnitude("count", "flags of the code in one incident")
"""The size of an alarm whose code has no number: how many times it fired in the incident
(one write-off against five in a row)."""

LEVELS: tuple[tuple[str, ...], ...] = (
    ("code", "company", "count", "value", "velocity", "location_type"),
    ("code", "company", "count", "value", "location_type"),
    ("code", "company", "count", "value"),
    ("code", "company", "count", "location_type"),
    ("code", "company", "count"),
    ("code", "company"),
)
"""Pattern levels, most specific first; the last is the code at this site. ``company``:
whether the code is the only one of its incident (``alone``) or one of several
(``with_others``): a lone count variance and one inside a cluster of mis-scan signs are
different alarms. ``count``: whether the code fired once in the incident (``single``) or
more often (``repeated``): an adjustment and its reversal are not one large adjustment."""

VALUED = tuple(level for level in LEVELS if "value" in level)
"""The levels that name the item's value class: the only ones a high-value flag is judged by."""

HIGH = "high"


class SiteContext:
    """Context classes of items and locations at one site (read from its dataset).

    Args:
        data: the site's dataset (item master, locations, the log).
        params: the class cut points.
    """

    def __init__(self, data: Dataset, params: LearningParams) -> None:
        items = data.items.drop_duplicates("sku", keep="last").set_index("sku")
        cost = pd.to_numeric(items["unit_cost"], errors="coerce") \
            if "unit_cost" in items else pd.Series(np.nan, index=items.index)
        known = cost.dropna()
        cheap = known.quantile(params.cheap_quantile) if len(known) else np.nan
        high = known.quantile(params.high_value_quantile) if len(known) else np.inf
        value = pd.Series("unknown", index=items.index, dtype=object)
        value[cost.notna()] = "mid"
        value[cost <= cheap] = "cheap"
        value[cost >= high] = HIGH
        locations = data.locations.drop_duplicates("location_id", keep="last")
        self.location_type: dict[str, str] = dict(zip(
            locations["location_id"].astype(str), locations["type"].astype(str), strict=True))
        if "home_location" in items:
            caged = items["home_location"].map(self.location_type) == "CAGE"
            value[caged.fillna(False).to_numpy(dtype=bool)] = HIGH
        self.value: dict[str, str] = {str(sku): str(v) for sku, v in value.items()}
        tx = data.transactions
        lines = tx["sku"].value_counts()
        span_d = 1.0
        if len(tx):
            ts = pd.to_datetime(tx["ts"], utc=True, format="ISO8601")
            span_d = max((ts.max() - ts.min()).total_seconds() / 86_400, 1.0)
        per_day = lines / span_d
        slow = per_day.quantile(params.slow_quantile) if len(per_day) else 0.0
        fast = per_day.quantile(params.fast_quantile) if len(per_day) else np.inf
        velocity = pd.Series("medium", index=per_day.index, dtype=object)
        velocity[per_day <= slow] = "slow"
        velocity[per_day >= fast] = "fast"
        self.velocity: dict[str, str] = {str(sku): str(v) for sku, v in velocity.items()}
        self.txn_user: dict[str, str] = dict(zip(tx["txn_id"].astype(str),
                                                 tx["user_id"].astype(str), strict=True))

    def dims(self, flag: Flag, alone: bool, count: int = 1) -> dict[str, str]:
        """The flag's context: code, company, count, value class, velocity, location type.

        Args:
            flag: the flag.
            alone: whether its code is the only one among the flags it came with (its
                incident's, or its verdict's).
            count: how many of those flags have its code.
        """
        sku = flag.sku or ""
        return {"code": flag.code, "company": "alone" if alone else "with_others",
                "count": "single" if count <= 1 else "repeated",
                "value": self.value.get(sku, "unknown"),
                "velocity": self.velocity.get(sku, "slow"),
                "location_type": self.location_type.get(flag.location or "", "unknown")}

    def high_value(self, flag: Flag) -> bool:
        """Whether the flag is about a high-value item."""
        return self.value.get(flag.sku or "") == HIGH or flag.numbers.get("high_value") is True


def pattern_key(dims: Mapping[str, str], level: Sequence[str]) -> str:
    """A pattern as text, e.g. ``COUNT_VARIANCE|value=cheap|location_type=PICK``."""
    return "|".join([dims["code"], *(f"{d}={dims[d]}" for d in level[1:])])


def rule_id(key: str) -> str:
    """A learned rule's stable id (the same pattern always gets the same id)."""
    return "LR-" + hashlib.sha256(key.encode()).hexdigest()[:10]


class PatternRule(BaseModel):
    """A pattern the site's verdicts call normal practice, up to a learned limit."""

    rule_id: str
    pattern: str = Field(description="code and context, e.g. COUNT_VARIANCE|value=cheap|...")
    code: str
    context: dict[str, str]
    kind: Literal["threshold", "count"] = Field(
        description="threshold: on the flag's size; count: on how often its code fired in "
                    "the incident (codes without a size)")
    limit: float = Field(description="flags up to this magnitude are normal; larger ones alarm")
    unit: str
    detector_threshold: float | None = Field(default=None, description="the detector's own")
    verdicts: int = Field(description="votes behind the rule")
    false_alarms: int
    given_by: list[str] = Field(default_factory=list, description="who voted for it")
    active: bool = Field(default=True, description="False once an admin undid it")

    def describe(self) -> str:
        """One line a supervisor reads: what was learned, from what, what it does."""
        where = ", ".join(_context_words(k, v) for k, v in self.context.items())
        head = f"{self.code} ({where}): {self.false_alarms} of {self.verdicts} rejected"
        if self.kind == "count":
            n = int(self.limit)
            return (f"{head}, up to {n} in one incident treated as this site's normal "
                    f"practice (threshold raised from 1 to {n + 1})")
        was = f" from {self.detector_threshold:g}" if self.detector_threshold is not None \
            else ""
        return f"{head}, threshold raised{was} to {self.limit:g} {self.unit}"

    def covers(self, magnitude: float | None) -> bool:
        """Whether the rule calls a flag of this size (known to match the pattern) normal."""
        return self.active and magnitude is not None and magnitude <= self.limit


class PatternStats(BaseModel):
    """Votes on one pattern (kept whether or not they made a rule)."""

    pattern: str
    verdicts: int
    false_alarms: int


class IgnoredVerdict(BaseModel):
    """A verdict learning did not use, and why."""

    index: int = Field(description="row of the verdict in the order given (0-based)")
    txn_ids: list[str]
    reason: str
    flagged: bool = Field(default=False, description="a guardrail caught it (shown to admins)")


class Learned(BaseModel):
    """Everything learned at one site from its verdicts."""

    site: str = "default"
    verdicts: int = Field(default=0, description="verdicts given")
    used: int = Field(default=0, description="verdicts learned from")
    confirmed: int = 0
    false_alarms: int = 0
    rules: list[PatternRule] = Field(default_factory=list)
    patterns: list[PatternStats] = Field(default_factory=list)
    ignored: list[IgnoredVerdict] = Field(default_factory=list)
    causes: dict[str, int] = Field(default_factory=dict,
                                   description="confirmed root causes named by resolvers")
    actions: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="root cause -> action type -> times the site took it")
    undone: list[str] = Field(default_factory=list, description="rule ids an admin undid")

    def rule(self, rid: str) -> PatternRule | None:
        """The rule with this id, if learned."""
        return next((r for r in self.rules if r.rule_id == rid), None)


@dataclass
class _Vote:
    index: int
    benign: bool
    magnitude: float | None
    by: str | None


@dataclass
class Suppression:
    """Why an incident is the site's normal practice (or already resolved)."""

    incident_id: str
    rule_ids: list[str] = field(default_factory=list)
    reason: str = ""
    guards: list[str] = field(default_factory=list)
    """The guardrails that keep it open though the rules call it normal
    (:data:`HIGH_VALUE_GUARD`, :data:`OWN_VOTE_GUARD`); empty: it is suppressed."""

    @property
    def held(self) -> bool:
        """Whether a guardrail keeps it open."""
        return bool(self.guards)


HIGH_VALUE_GUARD = "a high-value item that only rules learned on cheaper items call normal"
OWN_VOTE_GUARD = ("a user whose own verdicts made the rule is involved "
                  "(segregation of duties)")


def magnitude(flag: Flag, count: int) -> float | None:
    """A flag's size: its code's number, or for a code without one how often it fired."""
    m = MAGNITUDES.get(flag.code)
    return m.of(flag) if m is not None else float(count)


class Learner:
    """Learns pattern rules from verdicts; judges flags and incidents against them.

    Args:
        params: evidence thresholds and context cut points.
    """

    def __init__(self, params: LearningParams | None = None) -> None:
        self.params = params or LearningParams()

    def fit(self, resolutions: Sequence[Resolution], flags: Iterable[Flag], data: Dataset,
            *, undone: Iterable[str] = (), site: str = "default") -> Learner:
        """Learn from verdicts over the flags the scorer raised on ``data``."""
        self.context_ = ctx = SiteContext(data, self.params)
        by_txn: dict[str, list[Flag]] = defaultdict(list)
        for f in flags:
            by_txn[f.txn_id].append(f)
        learned = Learned(site=site, verdicts=len(resolutions), undone=sorted(set(undone)))
        votes: dict[str, list[_Vote]] = defaultdict(list)
        dims_of: dict[str, dict[str, str]] = {}
        for i, res in enumerate(resolutions):
            fl = self._usable(i, res, by_txn, learned)
            if fl is None:
                continue
            seen: dict[str, float | None] = {}
            for dims, mag in _sized(ctx, fl):
                for level in LEVELS:
                    key = pattern_key(dims, level)
                    dims_of[key] = {d: dims[d] for d in level}
                    old = seen.get(key)
                    seen[key] = mag if old is None else (old if mag is None else max(old, mag))
            for key, mag in seen.items():
                votes[key].append(_Vote(i, res.benign, mag, res.decided_by))
        thresholds = _detector_thresholds(by_txn)
        site_rate = learned.false_alarms / learned.used if learned.used else 0.5
        for key, vs in sorted(votes.items()):
            benign = sum(v.benign for v in vs)
            if len(vs) >= self.params.min_verdicts:
                learned.patterns.append(PatternStats(pattern=key, verdicts=len(vs),
                                                     false_alarms=benign))
            dims = dims_of[key]
            broader = [votes[pattern_key(dims, level)] for level in LEVELS
                       if set(level) < set(dims)]
            prior = min((self._posterior(sum(v.benign for v in b), len(b), site_rate)
                         for b in broader), default=site_rate)
            rule = self._rule(key, dims, vs, thresholds.get(dims["code"]), prior)
            if rule is not None:
                rule.active = rule.rule_id not in learned.undone
                learned.rules.append(rule)
        self.learned_ = learned
        self._votes = dict(votes)
        self._rules = {r.pattern: r for r in learned.rules}
        return self

    def _usable(self, i: int, res: Resolution, by_txn: Mapping[str, list[Flag]],
                learned: Learned) -> list[Flag] | None:
        """The flags a verdict is about, counted into ``learned``; None (listed) if unusable."""
        ctx = self.context_
        if res.decided_by and any(ctx.txn_user.get(t) == res.decided_by for t in res.txn_ids):
            learned.ignored.append(IgnoredVerdict(
                index=i, txn_ids=res.txn_ids, flagged=True,
                reason=f"{res.decided_by} decided on their own transactions "
                       "(segregation of duties)"))
            return None
        fl = [f for t in res.txn_ids for f in by_txn.get(t, [])]
        if not fl:
            learned.ignored.append(IgnoredVerdict(
                index=i, txn_ids=res.txn_ids, reason="no flag on its transactions"))
            return None
        learned.used += 1
        if res.benign:
            learned.false_alarms += 1
            return fl
        learned.confirmed += 1
        if res.root_cause is not None:
            cause = res.root_cause.value
            learned.causes[cause] = learned.causes.get(cause, 0) + 1
            if res.action is not None:
                acts = learned.actions.setdefault(cause, {})
                acts[res.action.value] = acts.get(res.action.value, 0) + 1
        return fl

    def _posterior(self, benign: int, n: int, prior: float) -> float:
        """Posterior mean false-alarm rate of ``benign`` of ``n`` votes under the Beta prior."""
        k = self.params.prior_strength
        return (benign + k * prior) / (n + k)

    def _rule(self, key: str, dims: dict[str, str], votes: list[_Vote],
              detector_threshold: float | None, prior: float) -> PatternRule | None:
        """The pattern's learned limit, if its false alarms below its real problems suffice.

        The false alarms smaller than the pattern's smallest confirmed problem make a rule
        when there are at least ``min_verdicts`` of them and their posterior mean false-alarm
        rate (Beta prior of ``prior_strength`` pseudo-verdicts at ``prior``, the rate of its
        broader patterns) reaches ``benign_share``. The limit: a margin past the largest of
        them, kept halfway below the smallest confirmed problem; a limit never covers one.
        """
        p = self.params
        code = dims["code"]
        counted = code not in MAGNITUDES
        real = min((float(v.magnitude) for v in votes if not v.benign
                    and v.magnitude is not None), default=math.inf)
        if any(not v.benign and v.magnitude is None for v in votes):
            return None
        head = [v for v in votes if v.benign and v.magnitude is not None and v.magnitude < real]
        if len(head) < p.min_verdicts or \
                self._posterior(len(head), len(head), prior) < p.benign_share:
            return None
        top = max(float(v.magnitude) for v in head)  # type: ignore[arg-type]
        limit = math.floor(top) if counted else min(top * p.limit_margin, (top + real) / 2)
        context = {k: v for k, v in dims.items() if k != "code"}
        return PatternRule(rule_id=rule_id(key), pattern=key, code=code, context=context,
                           kind="count" if counted else "threshold", limit=round(limit, 2),
                           unit=(COUNTED if counted else MAGNITUDES[code]).unit,
                           detector_threshold=1.0 if counted else detector_threshold,
                           verdicts=len(head), false_alarms=len(head),
                           given_by=sorted({v.by for v in head if v.benign and v.by}))

    # -- judging ---------------------------------------------------------------------------

    def flag_rule(self, flag: Flag, alone: bool, count: int = 1, *,
                  guard: bool = True) -> PatternRule | None:
        """The active rule that calls this flag normal, from its most specific pattern up.

        The patterns are read from the most specific: the first rule whose limit covers the
        flag's size decides; a pattern with a confirmed problem no larger than a margin past
        the flag's size stops the search (a narrow context with real problems is never
        silenced by a broad rule). A high-value flag is judged only by the patterns that name
        its value class (``guard``; off: what the rules alone would say).

        Args:
            flag: the flag.
            alone: whether its code is the only one of its incident.
            count: how many of the incident's flags have its code.
            guard: keep the high-value guard.
        """
        ctx = self.context_
        dims = ctx.dims(flag, alone, count)
        mag = magnitude(flag, count)
        dear = guard and ctx.high_value(flag)
        for level in VALUED if dear else LEVELS:
            key = pattern_key(dims, level)
            rule = self._rules.get(key)
            if rule is not None and rule.covers(mag) and not (
                    dear and rule.false_alarms < self.params.high_value_verdicts):
                return rule
            if any(not v.benign and (mag is None or v.magnitude is None
                                     or v.magnitude <= mag * self.params.limit_margin)
                   for v in self._votes.get(key, ())):
                return None
        return None

    def suppressions(self, incidents: Iterable[Incident],
                     resolutions: Sequence[Resolution] = ()) -> dict[str, Suppression]:
        """Incidents that are this site's normal practice, or already resolved as false alarms.

        An incident is normal when every one of its flags is, by rules none of whose voters
        is among the incident's users. An incident whose transactions a verdict already
        called a false alarm is resolved (unless the verdict was ignored); one a verdict
        confirmed is never suppressed. An incident the rules would call normal but for a
        guardrail (a high-value item only rules without its value class match, or a voter
        among its users) is returned ``held``, with its guards: it stays open, and the
        report and the UI say so.
        """
        ignored = {i.index for i in self.learned_.ignored}
        decided: dict[str, bool] = {}
        for i, res in enumerate(resolutions):
            if i in ignored:
                continue
            for t in res.txn_ids:
                decided[t] = decided.get(t, True) and res.benign
        out: dict[str, Suppression] = {}
        for inc in incidents:
            flagged = {f.txn_id for f in inc.flags}
            verdicts = [decided[t] for t in flagged if t in decided]
            if verdicts and not all(verdicts):
                continue
            if verdicts and len(verdicts) == len(flagged):
                if not any(self.context_.high_value(f) for f in inc.flags):
                    out[inc.incident_id] = Suppression(
                        inc.incident_id, reason="already resolved as a false alarm")
                continue
            sup = self._normal(inc)
            if sup is not None:
                out[inc.incident_id] = sup
        return out

    def _normal(self, inc: Incident) -> Suppression | None:
        """The suppression of an incident every flag of which the rules call normal."""
        counts = Counter(f.code for f in inc.flags)
        alone = len(counts) == 1
        users = set(inc.user_ids)
        rules, guards = [], set()
        for f in inc.flags:
            rule = self.flag_rule(f, alone, counts[f.code])
            if rule is None:
                rule = self.flag_rule(f, alone, counts[f.code], guard=False)
                if rule is not None:
                    guards.add(HIGH_VALUE_GUARD)
            if rule is None:
                return None
            if users & set(rule.given_by):
                guards.add(OWN_VOTE_GUARD)
            rules.append(rule)
        if not rules:
            return None
        ids = list(dict.fromkeys(r.rule_id for r in rules))
        return Suppression(inc.incident_id, ids, "; ".join(
            self.learned_.rule(rid).describe() for rid in ids),  # type: ignore[union-attr]
            guards=sorted(guards))


def _sized(ctx: SiteContext, fl: Sequence[Flag]) -> Iterable[tuple[dict[str, str],
                                                                   float | None]]:
    """The context and size of each flag of a verdict (counts within the verdict)."""
    counts = Counter(f.code for f in fl)
    alone = len(counts) == 1
    for f in fl:
        yield ctx.dims(f, alone, counts[f.code]), magnitude(f, counts[f.code])


def _context_words(dim: str, value: str) -> str:
    if dim == "company":
        return "alone in its incident" if value == "alone" else "with other codes"
    if dim == "count":
        return "once in its incident" if value == "single" else "repeated in its incident"
    if dim in ("value", "velocity"):
        return f"{value} {'value' if dim == 'value' else 'mover'}"
    return f"{dim.replace('_', ' ')} {value}"


def _detector_thresholds(by_txn: Mapping[str, list[Flag]]) -> dict[str, float]:
    """Per code, the detector's own threshold as its flags report it (smallest seen)."""
    out: dict[str, float] = {}
    for fl in by_txn.values():
        for f in fl:
            m = MAGNITUDES.get(f.code)
            value = f.numbers.get(m.threshold) if m and m.threshold else None
            if isinstance(value, int | float):
                out[f.code] = min(out.get(f.code, float(value)), float(value))
    return out
