"""Run a system (Tally or the naive baseline) over a suite and judge its tickets.

Tally runs in-process through the same function ``tally run`` uses
(:func:`agents.pipeline.triage_dataset`), with the reasoner the mode asks for:

- ``offline``: the built-in offline reasoner (no network, no key).
- ``recorded``: the OpenAI-compatible reasoner against recorded chat completions replayed
  through respx, so the real client code (request building, structured output, validation,
  usage accounting, fallback) runs in CI with no server.
- ``live``: the OpenAI-compatible reasoner against ``TALLY_LLM_BASE_URL``; ``record`` saves
  what it answered as the new recordings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from agents.case import Reasoner, ReasonerUsage
from evals.baseline import NaiveBaseline
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
    REPLAY_BASE_URL,
    REPLAY_MODEL,
    Capture,
    Metered,
    Replay,
    StandIn,
    mocked_llm,
    recording_path,
)
from evals.suites import EvalDataset
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
        reason_seconds: per ticket, the reasoner's time (classify + explain).
        usages: per ticket, model calls and tokens (empty for systems without a reasoner).
        twin_tickets: tickets of the clean twin, when the dataset has one.
        replay_misses: chat completions the recording could not answer (recorded mode).
    """

    dataset: EvalDataset
    tickets: list[Ticket]
    seconds: float
    reason_seconds: list[float] = field(default_factory=list)
    usages: list[ReasonerUsage] = field(default_factory=list)
    twin_tickets: list[Ticket] | None = None
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
        """Latency and LLM cost per ticket (means, with the reasoner's p95 latency)."""
        tickets = sum(len(r.tickets) for r in self.runs) or 1
        reason = sorted(s for r in self.runs for s in r.reason_seconds)
        usages = [u for r in self.runs for u in r.usages]
        p95 = reason[min(len(reason) - 1, int(0.95 * len(reason)))] if reason else 0.0
        return {
            "seconds_per_ticket": sum(r.seconds for r in self.runs) / tickets,
            "reason_p95_s": p95,
            "llm_calls_per_ticket": sum(u.calls for u in usages) / tickets,
            "tokens_per_ticket": sum(u.prompt_tokens + u.completion_tokens
                                     for u in usages) / tickets,
            "fallback_share": sum(u.fallback_reason is not None for u in usages) / tickets,
            "replay_misses": float(sum(r.replay_misses for r in self.runs)),
        }


class Tally:
    """Tally's own batch pipeline with a reasoner built per dataset by ``make_reasoner``."""

    name = "tally"

    def __init__(self, make_reasoner: Callable[[], Reasoner]) -> None:
        self.make_reasoner = make_reasoner
        self.last: Metered | None = None

    def triage(self, data: Dataset) -> list[Ticket]:
        """Score and triage ``data`` exactly as ``tally run`` does, metering the reasoner."""
        from agents.pipeline import triage_dataset

        self.last = Metered(self.make_reasoner())
        return triage_dataset(data, reasoner=self.last)


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
              record: bool = False, standin: bool = False,
              recordings: Path | None = None,
              progress: Callable[[str], None] | None = None) -> EvalRun:
    """Run Tally over ``datasets`` in ``mode`` and judge it.

    Args:
        datasets: the suite's datasets.
        mode: offline, recorded or live.
        suite: the suite's name (recordings are kept per suite).
        record: save what the model answered as the new recordings (live mode, or stand-in).
        standin: answer the OpenAI path with the offline reasoner (bootstraps recordings
            where no model server is reachable; implies the recorded endpoint).
        recordings: root of the recordings (default ``evals/recordings``).
        progress: called with each dataset's name before it runs.
    """
    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    if record and mode == "offline":
        raise UserError("--record needs --mode live (or recorded with the stand-in)")
    from agents.reasoners import build_reasoner

    settings = llm_settings(mode)
    runs = []
    for ds in datasets:
        if progress:
            progress(ds.name)
        path = recording_path(suite, ds.name, *(() if recordings is None else (recordings,)))
        capture = Capture("live") if record and not standin else None
        client = httpx.Client(event_hooks={"response": [capture.hook]} if capture else {})
        system = Tally(lambda c=client: build_reasoner(settings, http_client=c))
        with _traffic(mode, path, standin=standin, record=record) as replay:
            run = run_dataset(system, ds)
            run.replay_misses = replay.misses if isinstance(replay, Replay) else 0
        if capture is not None:
            capture.save(path)
        runs.append(run)
    return judge_runs("tally", mode, suite, runs)


@contextmanager
def _traffic(mode: str, path: Path, *, standin: bool, record: bool) -> Iterator[Any]:
    """The HTTP side of a mode: replay, stand-in (saved when recording), or the real network."""
    if standin:
        answer = StandIn()
        with mocked_llm(answer):
            yield answer
        if record:
            answer.capture.save(path)
    elif mode == "recorded":
        replay = Replay.load(path)
        with mocked_llm(replay):
            yield replay
    else:
        with nullcontext():
            yield None


def run_dataset(system: System, ds: EvalDataset) -> DatasetRun:
    """One dataset through one system (and its clean twin, when it has one)."""
    start = time.perf_counter()
    tickets = system.triage(ds.data)
    seconds = time.perf_counter() - start
    metered = getattr(system, "last", None)
    run = DatasetRun(ds, tickets, seconds)
    if isinstance(metered, Metered):
        run.reason_seconds = list(metered.seconds.values())
        run.usages = list(metered.usages.values())
    if ds.twin is not None:
        run.twin_tickets = system.triage(ds.twin)
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
        safety += status_checks(r.dataset.name, r.tickets)
        if r.twin_tickets is not None:
            safety += status_checks(r.dataset.name, r.twin_tickets)
            safety += injection_checks(r.dataset.name, r.twin_tickets, r.tickets)
    detected = detection({r.dataset.name: r.tickets for r in runs},
                         {r.dataset.name: r.dataset.expectations for r in runs})
    all_tickets = [t for r in runs for t in r.tickets]
    return EvalRun(system, mode, suite, runs, score(units, detected, all_tickets, safety), units)
