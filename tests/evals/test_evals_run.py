"""The eval suite end to end on a few hand-written cases: baseline gate, replay, report, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from api.cli.main import app
from evals.baseline import NaiveBaseline, training_labels
from evals.gate import check, load_limits
from evals.report import figures, write_report
from evals.runner import run_baseline, run_tally
from evals.suites import CASES_DIR, CI_GENERATED, EvalDataset, generated, hand_written
from evals.write_back_probe import probe
from tests.loopback_server import serve_on_loopback
from warehouse.contract import RootCause
from warehouse.settings import get_settings

FEW = ("sync_duplicate_pick", "receiving_short_shipped", "legit_single_damage_writeoff",
       "inject_json_approval_duplicate")


@pytest.fixture(scope="module")
def few() -> list[EvalDataset]:
    return [hand_written(CASES_DIR / name) for name in FEW]


@pytest.mark.slow
def test_every_hand_written_case_loads_with_expectations() -> None:
    folders = sorted(p for p in CASES_DIR.iterdir() if p.is_dir())
    assert len(folders) >= 40
    kinds = {}
    for folder in folders:
        ds = hand_written(folder)
        ids = set(ds.data.transactions["txn_id"])
        for exp in ds.expectations:
            assert exp.txn_ids <= ids, f"{folder.name}: expected txn_ids not in the log"
        kinds.setdefault(ds.kind, set()).update(e.root_cause for e in ds.expectations)
        assert (ds.twin is not None) == (ds.kind == "injection")
    assert kinds["clear"] == set(RootCause) - {RootCause.LEGITIMATE}
    assert {"red_herring", "ambiguous", "injection", "missing_data"} <= kinds.keys()


def test_generated_eval_data_never_uses_training_seeds() -> None:
    with pytest.raises(ValueError, match="training seed"):
        generated(CI_GENERATED[0].model_copy(update={"seed": 7}))


def test_gate_fails_when_the_reasoner_is_replaced_by_the_baseline(
        few: list[EvalDataset]) -> None:
    data = [*few, generated(CI_GENERATED[0])]
    run = run_baseline(data, suite="ci", labelled=training_labels())
    broken = check(figures(run), load_limits("ci", "offline"))
    names = {line.split()[0].rstrip(":") for line in broken}
    assert {"macro_f1", "recall"} <= names
    baseline = NaiveBaseline().fit(training_labels())
    assert {t.root_cause for t in run.runs[-1].tickets} == {baseline.cause_}


@pytest.mark.slow
def test_recorded_mode_replays_through_the_openai_client(
        few: list[EvalDataset], tmp_path: Path) -> None:
    offline = run_tally(few, mode="offline", suite="t", record=True, recordings=tmp_path)
    saved = json.loads((tmp_path / "t" / f"{FEW[0]}.json").read_text())
    assert saved["source"] == "offline-standin" and saved["responses"]

    replayed = run_tally(few, mode="recorded", suite="t", recordings=tmp_path)
    cost = replayed.cost()
    assert cost["replay_misses"] == 0 and cost["fallback_share"] == 0
    assert cost["llm_calls_per_ticket"] == 2 and cost["tokens_per_ticket"] > 0
    for a, b in zip(offline.runs, replayed.runs, strict=True):
        assert [(t.root_cause, t.action.type) for t in a.tickets] == [
            (t.root_cause, t.action.type) for t in b.tickets]
        assert all(t.model_extra["reasoner"] == "openai" for t in b.tickets)
    assert replayed.scores.safety == 1.0

    stale = run_tally(few[:1], mode="recorded", suite="t", recordings=tmp_path / "none")
    assert stale.cost()["replay_misses"] > 0 and stale.cost()["fallback_share"] == 1.0


def test_write_back_probe_sees_no_write_without_approval() -> None:
    checks = probe(hand_written(CASES_DIR / "inject_ignore_previous_shrinkage"))
    names = {c.name for c in checks}
    assert names == {"no_write_before_approval", "text_never_approves", "reject_writes_nothing",
                     "approve_writes_once"}  # the last is the control: a write is seen
    assert all(c.passed for c in checks), [c.detail for c in checks if not c.passed]


def test_report_and_plots_are_written(few: list[EvalDataset], tmp_path: Path) -> None:
    run = run_baseline(few, suite="cases", labelled=training_labels())
    report = write_report(tmp_path, run, run, {"recall_min": 0.5}, ["recall 0.000 < 0.5"])
    text = report.read_text()
    assert text.startswith("# Tally eval: suite `cases`, mode `offline`")
    assert "**FAIL**: recall 0.000 < 0.5" in text and "| recall |" in text
    assert "## Per class" in text and "| SYSTEM_SYNC |" in text
    for png in ("confusion.png", "per_class_f1.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_gates_on_thresholds(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    shutil.copytree(CASES_DIR / FEW[0], cases / FEW[0])
    strict = tmp_path / "strict.toml"
    strict.write_text("version = 1\n[cases.offline]\nrecall_min = 1.01\n")
    args = ["eval", "--suite", "cases", "--cases-dir", str(cases), "--no-baseline"]

    ok = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "ok")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "ok" / "report.md").is_file()

    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "bad"),
                                   "--thresholds", str(strict)])
    assert bad.exit_code == 1 and "recall 1.000 < 1.01" in bad.output


def fake_model() -> FastAPI:
    """An OpenAI-compatible endpoint that calls every case a duplicate, in plain words."""
    api = FastAPI()

    @api.post("/v1/chat/completions")
    def chat(body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["messages"][-1]["content"]
        if "Classify the root cause" in prompt:
            answer = {"root_cause": "SYSTEM_SYNC", "confidence": 0.9,
                      "rationale": "one event posted twice", "cited_evidence": []}
        else:
            answer = {"summary": "Duplicate event", "cited_evidence": [],
                      "explanation": "The interface posted one pick twice; void the copy."}
        return {"id": "x", "object": "chat.completion", "created": 1, "model": "fake",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": json.dumps(answer)}}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 50,
                          "total_tokens": 1050}}

    return api


def test_live_mode_records_what_the_endpoint_answered_and_replays_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [hand_written(CASES_DIR / "sync_duplicate_pick")]
    with serve_on_loopback(fake_model()) as url:
        monkeypatch.setenv("TALLY_LLM_BASE_URL", f"{url}/v1")
        monkeypatch.setenv("TALLY_LLM_MODEL", "fake")
        get_settings.cache_clear()
        live = run_tally(cases, mode="live", suite="t", record=True, recordings=tmp_path)
    saved = json.loads((tmp_path / "t" / "sync_duplicate_pick.json").read_text())
    assert saved["source"] == "live:fake"
    answers = [len(a) for a in saved["responses"].values()]
    assert live.runs[0].error is None, live.runs[0].error
    assert answers == [2] * len(live.runs[0].tickets) and answers
    assert live.cost()["tokens_per_ticket"] == 2100 and live.cost()["fallback_share"] == 0

    replayed = run_tally(cases, mode="recorded", suite="t", recordings=tmp_path)
    assert replayed.cost()["replay_misses"] == 0
    assert [t.explanation for t in replayed.runs[0].tickets] == [
        t.explanation for t in live.runs[0].tickets]
