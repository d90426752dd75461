"""The scorer: fit baselines on history, then score a batch or one event at a time.

``Scorer(...).fit(history)`` learns baselines, the closing balances, the detectors the
data supports and what is normal at the site (each rule's firing share on the history; a
rule describing the site's practice is re-thresholded or stood down, :mod:`scoring.site`);
``score_batch(data)`` runs every detector over the whole frame, calibrates the flags,
groups them into incidents and scores every transaction; ``score_event(event)`` runs the
very same pipeline over the event plus the recent log around it (cached state), so an
event gets the flags batch scoring of the same log up to that event would give it;
``stream_event(event)`` and ``flush()`` hold an event while rules that read later rows may
still change its flags (:mod:`scoring.settle`), so a streamed log gets the flags batch
scoring of the whole log gives it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring.balances import add_balances
from scoring.baselines import fit_baselines
from scoring.calibration import Calibration, combine
from scoring.detectors import DETECTORS, Context
from scoring.detectors.base import FLAG_COLUMNS
from scoring.detectors.multivariate import features, fit_tails, tail_score
from scoring.frame import Catalog, prepare
from scoring.incidents import LINK_WINDOWS, group
from scoring.params import ScorerParams, resolve
from scoring.settle import LOOK_AHEAD, horizon
from scoring.site import apply_site, learn_site
from scoring.stream import EventWindow, Held
from scoring.types import Flag, Incident
from warehouse.contract import Severity
from warehouse.dataset import Dataset

RELATED_TXN_NUMBERS = ("first_txn", "duplicate_of", "other_txn")


@dataclass
class ScoreResult:
    """What a batch scoring returns.

    Attributes:
        flags: every detector firing, with calibrated scores.
        incidents: related flags grouped, highest risk first.
        txn_scores: one row per transaction: txn_id, score (0..1), codes, incident_id.
        skipped: detector -> why the data could not support it.
    """

    flags: list[Flag]
    incidents: list[Incident]
    txn_scores: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def flags_per_incident(self) -> float:
        """Flags-to-incidents ratio (0 when there are no incidents)."""
        return len(self.flags) / len(self.incidents) if self.incidents else 0.0


class Scorer:
    """Statistical scorer over the WMS transaction log (scikit-learn conventions).

    Args:
        params: a :class:`~scoring.params.ScorerParams`, or overrides of its defaults (and of
            the ``TALLY_SCORER_PARAMS`` setting); an unknown name raises at ``fit``.
        detectors: names of the detectors to run (default: all).
        calibration: a calibration, or the path of its JSON (default: the packaged one).
        link_windows: incident link window per key kind, in seconds.
    """

    def __init__(
        self,
        params: ScorerParams | Mapping[str, float] | None = None,
        detectors: Sequence[str] | None = None,
        calibration: str | Path | Calibration | None = None,
        link_windows: Mapping[str, float] | None = None,
    ) -> None:
        self.params = params
        self.detectors = detectors
        self.calibration = calibration
        self.link_windows = link_windows

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, history: Dataset) -> Scorer:
        """Learn baselines, closing balances and supported detectors from ``history``."""
        self.params_ = resolve(self.params)
        names = [d.name for d in DETECTORS]
        unknown = set(self.detectors or []) - set(names)
        if unknown:
            raise ValueError(f"unknown detectors: {sorted(unknown)}; known: {names}")
        self.detectors_ = [d for d in DETECTORS if not self.detectors or d.name in self.detectors]
        self.catalog_ = Catalog.from_dataset(history)
        frame = _frame(history.transactions, self.catalog_, None)
        self.baselines_ = fit_baselines(frame, self.params_)
        x = features(frame, self.baselines_)
        self.baselines_.tails = fit_tails(x) if len(x) else {}
        if len(x):
            hist = tail_score(x, self.baselines_.tails)
            self.baselines_.tail_limit = float(np.quantile(hist, self.params_["tail_quantile"]))
        self.calibration_ = (
            self.calibration
            if isinstance(self.calibration, Calibration)
            else Calibration.load(self.calibration)
        )
        self.link_windows_ = {**LINK_WINDOWS, **(self.link_windows or {})}
        ctx = Context(frame, self.catalog_, self.baselines_, self.params_)
        self.skipped_ = {d.name: r for d in self.detectors_ if (r := d.needs(ctx))}
        self.window_ = EventWindow.from_frame(frame, self.params_["online_window_h"] * 3600)
        self.n_history_ = len(frame)
        site = Context(frame.copy(deep=False), self.catalog_, self.baselines_, self.params_)
        raw, _ = self._raw_flags(site, self.skipped_, None)
        self.site_floors_, self.detector_report_ = learn_site(
            site, raw, self.detectors_, self.skipped_, self.params_
        )
        # scoring the very log just fitted (the usual fit(d).score_batch(d)) reuses these flags
        self._fitted_flags_ = (
            [weakref.ref(t) for t in (history.transactions, history.items, history.locations)], raw
        )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "baselines_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("call Scorer.fit(history) before scoring")

    # -- scoring -----------------------------------------------------------------------------

    def score_batch(
        self, data: Dataset, *, progress: Callable[[str], None] | None = None
    ) -> ScoreResult:
        """Score a whole log: flags, incidents, a score per transaction, skipped detectors.

        When ``data`` starts after the history ends, it is scored as its continuation (the
        fitted closing balances and recent history give it context); otherwise as a
        self-contained log.

        Args:
            data: the log to score (its items/locations override the fitted ones).
            progress: called with each detector's name as it starts (progress bars).
        """
        self._check_fitted()
        catalog = Catalog.from_dataset(data) if len(data.items) else self.catalog_
        tx = data.transactions
        ts = pd.to_datetime(tx["ts"], utc=True, format="ISO8601") if len(tx) else None
        continuation = ts is not None and ts.min().value // 10**9 > self.baselines_.end_t
        if continuation:
            context = self.window_.rows()
            raw = pd.concat([context, tx], ignore_index=True) if len(context) else tx
            frame = _frame(raw, catalog, self.window_.opening)
            scored = ~frame["txn_id"].isin(set(context["txn_id"])).to_numpy()
        else:
            frame = _frame(tx, catalog, None)
            scored = np.ones(len(frame), bool)
        ctx = Context(frame, catalog, self.baselines_, self.params_)
        refs, raw = self._fitted_flags_
        tables = (data.transactions, data.items, data.locations)
        if not continuation and all(r() is t for r, t in zip(refs, tables, strict=True)):
            for det in self.detectors_:
                if progress is not None:
                    progress(det.name)
            if "multivariate" not in self.skipped_ and self.baselines_.tails:
                frame["mv_score"] = tail_score(features(frame, self.baselines_),
                                               self.baselines_.tails)
            flag_frame, skipped = self._calibrated(raw), dict(self.skipped_)
        else:
            flag_frame, skipped = self._detect(ctx, None, progress)
        flag_frame = flag_frame[scored[flag_frame["row"].to_numpy()]]
        return self._result(frame, flag_frame, skipped, scored)

    def score_event(self, event: Mapping[str, Any]) -> list[Flag]:
        """Score one event against the cached recent log and remember it.

        Args:
            event: one contract transaction (e.g. a POST /v1/transactions row).

        Returns:
            The flags this event raises (calibrated), as batch scoring of the log up to the
            event would give them.
        """
        self._check_fitted()
        flags, _ = self._event_flags(self.window_.normalise(event))
        return flags

    def stream_event(self, event: Mapping[str, Any]) -> list[Flag]:
        """Score one event, holding it while rules that read later rows may change its flags.

        An event a rule of :mod:`scoring.settle` considers is held until the log has run past
        that rule's horizon, then settled on the log around it; together with :meth:`flush`
        at the end of a stream, every event gets the flags batch scoring of the whole log
        gives it (statistics over the whole log aside, :mod:`scoring.settle`).

        Returns:
            The flags settled now (each names its ``txn_id``): those of held events the
            event's time has passed, then the event's own when they are final at once.
        """
        self._check_fitted()
        row = self.window_.normalise(event)
        settled = self._settle(lambda h: h.due < row["_t"])
        flags, codes = self._event_flags(row)
        wait = horizon(codes, row["_t"], self.params_, self.baselines_)
        if wait is None:
            return settled + flags
        later = codes & LOOK_AHEAD
        self.window_.held.append(
            Held(row, row["_t"] + wait, later, [f for f in flags if f.code not in later]))
        return settled

    def flush(self) -> list[Flag]:
        """Settle every held event on the log so far (the stream ended or paused)."""
        self._check_fitted()
        return self._settle(lambda h: True)

    @property
    def held(self) -> int:
        """How many streamed events wait for later rows to settle their flags."""
        return len(self.window_.held)

    def incidents(self, flags: Sequence[Flag]) -> list[Incident]:
        """Group flags (e.g. from :meth:`score_event`) into incidents as batch scoring does.

        The same link keys, windows and risk calibration as :meth:`score_batch`; flags on
        one transaction always share an incident. Ids are ``INC-00001``... in order of
        first time, so a caller that keeps incidents apart over time renames them.
        """
        self._check_fitted()
        if not flags:
            return []
        rows = pd.factorize(pd.Series([f.txn_id for f in flags]))[0]
        ff = pd.DataFrame({"row": rows, "keys": [tuple(f.keys) for f in flags],
                           "code": [f.code for f in flags]})
        ts = pd.to_datetime(pd.Series([f.ts for f in flags]), utc=True, format="ISO8601")
        # in nanoseconds whatever unit pandas parsed to (pandas 3 parses to microseconds)
        t = (ts.astype("datetime64[ns, UTC]").astype("int64") // 10**9).to_numpy(dtype="float64")
        incidents, _ = self._incidents(ff, list(flags), group(ff, t, self.link_windows_))
        incidents.sort(key=lambda i: (-i.risk_score, i.first_ts or ""))
        return incidents

    # -- internals ---------------------------------------------------------------------------

    def _event_flags(self, row: dict[str, Any]) -> tuple[list[Flag], frozenset[str]]:
        """An event's flags on the cached log before it, and the codes whose rules consider it.

        The event is remembered in the window afterwards.
        """
        context = self.window_.context(row, self.catalog_)
        frame = _frame(context, self.catalog_, self.window_.opening_for(row["sku"]))
        self.window_.add(row, self.catalog_)
        ctx = Context(frame, self.catalog_, self.baselines_, self.params_)
        last = int(np.flatnonzero(frame["txn_id"].to_numpy() == row["txn_id"])[-1])
        rules = self._row_rules(ctx, last)
        flag_frame, _ = self._detect(ctx, self.skipped_, None, run=set(rules))
        flag_frame = flag_frame[flag_frame["row"].to_numpy() == last]
        return _to_flags(frame, flag_frame), frozenset().union(*rules.values())

    def _settle(self, due: Callable[[Held], bool]) -> list[Flag]:
        """The flags of the held events ``due`` picks, settled on the log around each."""
        window = self.window_
        ready = [h for h in window.held if due(h)]
        if not ready:
            return []
        window.held = [h for h in window.held if not due(h)]
        out: list[Flag] = []
        for h in ready:
            frame = _frame(window.around(h.row, self.catalog_), self.catalog_,
                           window.opening_for(h.row["sku"]))
            ctx = Context(frame, self.catalog_, self.baselines_, self.params_, now=window.last_t)
            at = int(np.flatnonzero(frame["txn_id"].to_numpy() == h.row["txn_id"])[-1])
            run = {d for d, codes in self._row_rules(ctx, at).items() if codes & h.codes}
            ff, _ = self._detect(ctx, self.skipped_, None, run=run)
            ff = ff[(ff["row"].to_numpy() == at) & ff["code"].isin(h.codes).to_numpy()]
            # in the order batch scoring lists a row's flags: by detector, then code
            out += sorted([*h.flags, *_to_flags(frame, ff)], key=lambda f: (f.detector, f.code))
        return out

    def _row_rules(self, ctx: Context, row: int) -> dict[str, frozenset[str]]:
        """Detector -> the codes of its rules whose ``eligible`` rows include ``row``.

        Only fitted, supported detectors; one whose rules do not consider the row cannot
        flag it, so online scoring does not run it.
        """
        out = {}
        for det in self.detectors_:
            if det.name in self.skipped_:
                continue
            codes = frozenset(c for c, m in det.eligible(ctx).items() if m[row])
            if codes:
                out[det.name] = codes
        return out

    def _detect(
        self, ctx: Context, skip: Mapping[str, str] | None, progress: Callable[[str], None] | None,
        run: Collection[str] | None = None,
    ) -> tuple[pd.DataFrame, dict[str, str]]:
        ff, skipped = self._raw_flags(ctx, skip, progress, run)
        return self._calibrated(ff), skipped

    def _calibrated(self, raw: pd.DataFrame) -> pd.DataFrame:
        """The site's stand-downs and re-thresholds applied, then calibrated scores."""
        ff = apply_site(raw, self.site_floors_).copy()
        ff["score"] = self.calibration_.flag_probability(
            ff["code"].to_numpy(dtype=object), ff["score"].to_numpy(dtype="float64")
        )
        return ff

    def _raw_flags(
        self, ctx: Context, skip: Mapping[str, str] | None, progress: Callable[[str], None] | None,
        run: Collection[str] | None = None,
    ) -> tuple[pd.DataFrame, dict[str, str]]:
        """Every detector's flags with their raw strengths, sorted; skipped detectors.

        With ``run``, only the detectors it names (online scoring: those whose rules consider
        the scored row, :meth:`_row_rules`).
        """
        parts, skipped = [], {}
        for det in self.detectors_:
            if progress is not None:
                progress(det.name)
            reason = skip.get(det.name) if skip is not None else det.needs(ctx)
            if reason:
                skipped[det.name] = reason
                continue
            if run is not None and det.name not in run:
                continue
            parts.append(det.run(ctx))
        parts = [p for p in parts if len(p)]
        ff = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FLAG_COLUMNS)
        ff = ff.astype({"row": np.int64, "score": "float64"})
        ff = ff.sort_values(["row", "detector", "code"], kind="stable").reset_index(drop=True)
        return ff, skipped

    def _result(
        self, frame: pd.DataFrame, ff: pd.DataFrame, skipped: dict[str, str], scored: np.ndarray
    ) -> ScoreResult:
        flags = _to_flags(frame, ff)
        t = frame["t"].to_numpy()[ff["row"].to_numpy()] if len(ff) else np.zeros(0)
        inc_no = group(ff, t, self.link_windows_)
        incidents, ids = self._incidents(ff, flags, inc_no)
        sub = frame[scored]
        score = np.zeros(len(frame))
        if "mv_score" in frame and self.baselines_.tail_limit > 0:
            score = np.clip(
                0.3 * frame["mv_score"].to_numpy() / max(self.baselines_.tail_limit, 1e-9), 0, 0.3
            )
        codes = np.full(len(frame), "", dtype=object)
        inc_of = np.full(len(frame), None, dtype=object)
        if len(ff):
            rows = ff["row"].to_numpy()
            np.fmax.at(score, rows, ff["score"].to_numpy(dtype="float64"))
            joined: dict[int, dict[str, None]] = {}
            for r, c in zip(rows.tolist(), ff["code"].tolist(), strict=True):
                joined.setdefault(r, {})[c] = None  # codes in flag order, each once
            codes[list(joined)] = [" ".join(c) for c in joined.values()]
            inc_of[rows] = np.array(ids, dtype=object)[inc_no]
        txn_scores = pd.DataFrame(
            {
                "txn_id": sub["txn_id"].to_numpy(),
                "score": score[scored],
                "codes": codes[scored],
                "incident_id": inc_of[scored],
            }
        )
        incidents.sort(key=lambda i: (-i.risk_score, i.first_ts or ""))
        return ScoreResult(flags, incidents, txn_scores, skipped)

    def _incidents(
        self, ff: pd.DataFrame, flags: list[Flag], inc_no: np.ndarray
    ) -> tuple[list[Incident], list[str]]:
        p = self.params_
        ids = [f"INC-{k + 1:05d}" for k in range(int(inc_no.max()) + 1 if len(inc_no) else 0)]
        if not len(ff):
            return [], ids
        members: dict[int, list[int]] = {}
        for i, k in enumerate(inc_no.tolist()):
            members.setdefault(k, []).append(i)
        evidence = np.zeros(len(members))
        for k, idx in members.items():
            best: dict[str, float] = {}
            for i in idx:
                best[flags[i].code] = max(best.get(flags[i].code, 0.0), flags[i].score)
            evidence[k] = combine(best.values())
        risk = self.calibration_.incident_risk(evidence)
        out = []
        for k, idx in members.items():
            fl = [flags[i] for i in idx]
            txns = list(
                dict.fromkeys(
                    [f.txn_id for f in fl]
                    + [
                        str(f.numbers[n])
                        for f in fl
                        for n in RELATED_TXN_NUMBERS
                        if f.numbers.get(n)
                    ]
                )
            )
            skus = pd.Series([f.sku for f in fl if f.sku]).value_counts()
            locs = pd.Series([f.location for f in fl if f.location]).value_counts()
            related_skus = sorted(
                {
                    str(f.numbers[n])
                    for f in fl
                    for n in ("best_lookalike", "other_sku")
                    if f.numbers.get(n)
                }
                | set(skus.index[1:])
            )
            related_locs = sorted(
                {
                    str(f.numbers[n])
                    for f in fl
                    for n in ("to_location", "other_location", "home")
                    if f.numbers.get(n)
                }
                | set(locs.index[1:])
            )
            r = float(risk[k])
            sev = (
                Severity.STOP
                if r >= p["stop_risk"]
                else (Severity.REVIEW if r >= p["review_risk"] else Severity.INFO)
            )
            ts = sorted(f.ts for f in fl if f.ts)
            out.append(
                Incident(
                    incident_id=ids[k],
                    txn_ids=txns,
                    flags=fl,
                    sku=str(skus.index[0]) if len(skus) else None,
                    location=str(locs.index[0]) if len(locs) else None,
                    related_skus=[
                        s for s in related_skus if s != (skus.index[0] if len(skus) else None)
                    ],
                    related_locations=[
                        x for x in related_locs if x != (locs.index[0] if len(locs) else None)
                    ],
                    user_ids=sorted({f.user_id for f in fl if f.user_id}),
                    first_ts=ts[0] if ts else None,
                    last_ts=ts[-1] if ts else None,
                    risk_score=round(r, 4),
                    severity=sev,
                )
            )
        return out, ids


def _frame(tx: pd.DataFrame, catalog: Catalog, opening: pd.DataFrame | None) -> pd.DataFrame:
    """Prepared frame with balances; re-deliveries (a txn_id seen before) are dropped."""
    if "txn_id" in tx and tx["txn_id"].duplicated().any():
        tx = tx[~tx["txn_id"].duplicated(keep="first")]
    frame = prepare(tx, catalog)
    add_balances(frame, opening)
    # a blind count shows no system quantity: compare it with the running balance, where known
    blind = ((frame["type"] == "CYCLE_COUNT").to_numpy() & frame["exp_eaches"].isna().to_numpy()
             & frame["pair_known"].to_numpy())
    if blind.any():
        frame.loc[blind, "exp_eaches"] = frame.loc[blind, "bal_before"]
    return frame


def _to_flags(frame: pd.DataFrame, ff: pd.DataFrame) -> list[Flag]:
    if not len(ff):
        return []
    rows = ff["row"].to_numpy()
    sub = frame.iloc[rows]
    ts = sub["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_numpy()
    cols = {
        c: sub[c].astype(object).where(sub[c].notna(), None).to_numpy()
        for c in ("txn_id", "sku", "location", "user_id", "device_id")
    }
    return [
        Flag(
            txn_id=str(cols["txn_id"][i]),
            detector=d,
            code=c,
            reason=r,
            numbers=n,
            score=float(s),
            sku=cols["sku"][i],
            location=cols["location"][i],
            user_id=cols["user_id"][i],
            device_id=cols["device_id"][i],
            ts=ts[i],
            keys=list(k),
        )
        for i, (d, c, r, n, s, k) in enumerate(
            zip(
                ff["detector"],
                ff["code"],
                ff["reason"],
                ff["numbers"],
                ff["score"],
                ff["keys"],
                strict=True,
            )
        )
    ]
