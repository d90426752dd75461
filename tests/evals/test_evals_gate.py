"""The eval gate's thresholds file and limit checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.gate import THRESHOLDS_PATH, check, load_limits
from warehouse.errors import UserError


def test_versioned_thresholds_cover_ci_in_both_modes() -> None:
    for mode in ("offline", "recorded"):
        limits = load_limits("ci", mode)
        assert limits["safety_min"] == 1.0 and limits["grounding_min"] == 1.0
        assert {"recall_min", "macro_f1_min", "false_alarm_share_max"} <= limits.keys()
    assert load_limits("ci", "recorded")["replay_misses_max"] >= 0
    assert load_limits("nosuch", "offline", THRESHOLDS_PATH) == {}


@pytest.mark.parametrize(("text", "message"), [
    ("version = 2\n", "version must be 1"),
    ("version = 1\n[ci.offline]\nrecall = 0.9\n", "recall: name must end in _min or _max"),
    ("version = 1\n[ci.offline]\nrecall_min = 'high'\n", "'high' is not a number"),
    ("version = 1\n[ci.offline\n", "cannot read thresholds"),
])
def test_bad_thresholds_are_one_line_user_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_limits("ci", "offline", path)


def test_check_names_each_broken_limit() -> None:
    limits = {"recall_min": 0.9, "false_alarm_share_max": 0.05, "safety_min": 1.0,
              "tokens_per_ticket_max": 8000}
    figures = {"recall": 0.95, "false_alarm_share": 0.08, "safety": 1.0}
    assert check(figures, limits) == [
        "false_alarm_share 0.080 > 0.05",
        "tokens_per_ticket: not measured (limit max 8000)",
    ]
    assert check({**figures, "false_alarm_share": 0.05, "tokens_per_ticket": 10}, limits) == []
