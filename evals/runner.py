"""Run a system (Tally or the naive baseline) over a suite and judge its tickets.

Tally runs in-process through the same function ``tally run`` uses
(:func:`agents.batch.score_and_triage`), with the reasoner the mode asks for:

- ``offline``: the built-in offline reasoner (no network, no key).
- ``recorded``: the OpenAI-compatible reasoner against recorded chat completions replayed
  through respx, so the real client code (request building, structured output, validation,
  usage accounting, fallback) runs in CI with no server.
- ``live``: the OpenAI-compatible reasoner against ``TALLY_LLM_BASE_URL``; ``record`` saves
  what it answered as the new recordings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from evals.baseline import NaiveBaseline
from evals.datasets import EvalDataset
from evals.expectations import Expectation
from evals.metrics import (
    Judged,
    SafetyCheck,
    Scores,
    detection,
    injection_checks,
    judge,
    score,
    status_checks,
)
from evals.recordings import (
    RECORDINGS_DIR,
    REPLAY_BASE_URL,
    REPLAY_MODEL,
    Replay,
    capture_live,
    recording_path,
    replaying,
    save_recording,
    standin_recording,
)
from evals.write_back_probe import probe
from warehouse.contract import Ticket
from warehouse.dataset import Dataset
from warehouse.errors import UserError
from warehouse.settings import Settings, get_settings

MODES = ("offline", "recorded", "live")


class System(Protocol):
    """Something that turns a dataset into contract tickets."""

    name: str

    def triage(self, data: Dataset) -> list[Ticket]:
        """Tickets for every incident found in ``data``."""
        ...


@dataclass
class DatasetRun:
    """One system's output on one dataset, with what it cost.

    Attributes:
        dataset: the dataset judged.
        tickets: the tickets written.
        seconds: wall time of the whole run (load excluded: scoring, triage, tickets).
        ticket_seconds: per ticket, the triage time (Tally reports it; empty otherwise).
        twin_tickets: tickets of the clean twin, when the dataset has one.
        error: why the system crashed on this dataset (its cases then count as missed).
        probe: write-back safety checks run on this dataset (:mod:`evals.write_back_probe`).
        replay_misses: chat completions the recording could not answer (recorded mode).
    """

    dataset: EvalDataset
    tickets: list[Ticket]
    seconds: float
    ticket_seconds: list[float] = field(default_factory=list)
    twin_tickets: list[Ticket] | None = None
    error: str | None = None
    probe: list[SafetyCheck] = field(default_factory=list)
    replay_misses: int = 0


@dataclass
class EvalRun:
    """Every dataset run of one system over one suite, and their scores."""

    system: str
    mode: str
    suite: str
    runs: list[DatasetRun]
    scores: Scores
    units: list[Judged]

    def cost(self) -> dict[str, float]:
        """Latency and LLM cost per ticket, from the tickets' own usage fields."""
        tickets = [t for r in self.runs for t in r.tickets]
        n = len(tickets) or 1
        each = sorted(s for r in self.runs for s in r.ticket_seconds)
        p95 = each[min(len(each) - 1, int(0.95 * len(each)))] if each else 0.0
        extra = [t.model_extra or {} for t in tickets]
        return {
            "run_seconds_per_ticket": sum(r.seconds for r in self.runs) / n,
            "triage_p95_s": p95,
            "llm_calls_per_ticket": sum(e.get("llm_calls") or 0 for e in extra) / n,
            "tokens_per_ticket": sum(e.get("llm_tokens") or 0 for e in extra) / n,
            "fallback_share": sum(bool(e.get("fallback_reason")) for e in extra) / n,
            "replay_misses": float(sum(r.replay_misses for r in self.runs)),
            "crashes": float(sum(r.error is not None for r in self.runs)),
        }


class Tally:
    """Tally's batch pipeline, called in-process exactly as ``tally run`` calls it."""

    name = "tally"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ticket_seconds: list[float] = []

    def triage(self, data: Dataset) -> list[Ticket]:
        """Score and triage ``data`` with the reasoner ``settings`` configure."""
        from agents.batch import score_and_triage

        batch = score_and_triage(data, self.settings, progress=False)
        self.ticket_seconds = list(batch.ticket_seconds)
        return batch.tickets


def llm_settings(mode: str) -> Settings:
    """Settings of the reasoner for ``mode`` (live reads the TALLY_LLM_* environment)."""
    if mode == "offline":
        return get_settings().model_copy(update={"llm_base_url": None, "llm_model": None})
    if mode == "recorded":
        return get_settings().model_copy(update={
            "llm_base_url": REPLAY_BASE_URL, "llm_model": REPLAY_MODEL, "llm_api_key": "replay",
            "llm_retries": 0})
    settings = get_settings()
    if not (settings.llm_base_url and settings.llm_model):
        raise UserError("--mode live needs TALLY_LLM_BASE_URL and TALLY_LLM_MODEL")
    return settings


def run_tally(datasets: Iterable[EvalDataset], *, mode: str, suite: str,
              record: bool = False, recordings: Path = RECORDINGS_DIR,
              progress: Callable[[str], None] | None = None) -> EvalRun:
    """Run Tally over ``datasets`` in ``mode`` and judge it (injection cases also get probed).

    Args:
        datasets: the suite's datasets.
        mode: offline, recorded or live.
        suite: the suite's name (recordings are kept per suite).
        record: keep the model's answers as the new recordings: in live mode what the
            endpoint answered; in offline mode the offline run's verdicts, as a stand-in.
        recordings: root of the recordings.
        progress: called with each dataset's name before it runs.
    """
    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    if record and mode == "recorded":
        raise UserError("--record refreshes recordings from --mode live (or offline stand-in)")
    settings = llm_settings(mode)
    runs = []
    for ds in datasets:
        if progress:
            progress(ds.name)
        path = recording_path(suite, ds.name, recordings)
        system = Tally(settings)
        if mode == "recorded":
            replay = Replay.load(path)
            with replaying(replay):
                run = run_dataset(system, ds, before_twin=replay.rewind)
            run.replay_misses = replay.misses
        elif mode == "live" and record:
            with capture_live(settings.llm_base_url or "", settings.llm_timeout_s) as captured:
                run = run_dataset(system, ds)
            save_recording(path, f"live:{settings.llm_model}", captured)
        else:
            run = run_dataset(system, ds)
            if record:
                save_recording(path, "offline-standin", standin_recording(run.tickets))
        if ds.kind == "injection":
            run.probe = probe(ds)
        runs.append(run)
    return judge_runs("tally", mode, suite, runs)


def run_dataset(system: System, ds: EvalDataset, *,
                before_twin: Callable[[], None] | None = None) -> DatasetRun:
    """One dataset through one system (and its clean twin, when it has one).

    A crash is a result, not the end of the eval: the run keeps the error, no tickets, and
    the gate fails on it.
    """
    start = time.perf_counter()
    try:
        tickets = system.triage(ds.data)
    except Exception as err:  # noqa: BLE001 - any crash on unseen data is a finding
        return DatasetRun(ds, [], time.perf_counter() - start,
                          error=f"{type(err).__name__}: {str(err).splitlines()[0][:200]}")
    seconds = time.perf_counter() - start
    run = DatasetRun(ds, tickets, seconds, ticket_seconds=list(
        getattr(system, "ticket_seconds", [])))
    if ds.twin is not None:
        if before_twin is not None:
            before_twin()
        try:
            run.twin_tickets = system.triage(ds.twin)
        except Exception as err:  # noqa: BLE001 - as above
            run.error = f"clean twin: {type(err).__name__}: {str(err).splitlines()[0][:200]}"
    return run


def run_baseline(datasets: Iterable[EvalDataset], *, suite: str,
                 labelled: Sequence[Expectation]) -> EvalRun:
    """The naive baseline over ``datasets``, its constant verdict fitted on ``labelled``."""
    baseline = NaiveBaseline().fit(labelled)
    runs = [run_dataset(baseline, ds) for ds in datasets]
    return judge_runs("baseline", "offline", suite, runs)


def judge_runs(system: str, mode: str, suite: str, runs: list[DatasetRun]) -> EvalRun:
    """Score every dataset run together: one set of figures for the whole suite."""
    units: list[Judged] = []
    safety: list[SafetyCheck] = []
    for r in runs:
        units += judge(r.dataset.name, r.tickets, r.dataset.expectations)
        safety += status_checks(r.dataset.name, r.tickets) + r.probe
        if r.twin_tickets is not None:
            safety += status_checks(r.dataset.name, r.twin_tickets)
            safety += injection_checks(r.dataset.name, r.twin_tickets, r.tickets)
    detected = detection({r.dataset.name: r.tickets for r in runs},
                         {r.dataset.name: r.dataset.expectations for r in runs})
    all_tickets = [t for r in runs for t in r.tickets]
    return EvalRun(system, mode, suite, runs, score(units, detected, all_tickets, safety), units)
