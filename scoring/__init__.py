"""The statistical scorer: flags with reasons, incidents, batch and online."""

from scoring.scorer import Scorer, ScoreResult
from scoring.types import Flag, Incident

__all__ = ["Flag", "Incident", "ScoreResult", "Scorer"]
