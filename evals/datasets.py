"""One dataset of an eval suite, and which side of the train / held-out split it is on."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evals.expectations import Expectation
from sim.generator.profiles import HELD_OUT_PROFILES, TRAINING_PROFILES
from warehouse.dataset import Dataset

TRAINED, HELD_OUT, HAND_WRITTEN = "trained", "held-out", "hand-written"
REAL = "real"
SIDES = (TRAINED, HELD_OUT)


@dataclass
class EvalDataset:
    """One dataset of a suite.

    Attributes:
        name: unique within the suite (``gen-100`` or the case folder's name).
        kind: ``generated`` or the hand-written case's kind (clear, red_herring, ...).
        data: the dataset as loaded.
        expectations: its labelled cases.
        twin: the same dataset without the injected text, when the case asks for the check.
        description: one line for the report.
        profile: the generator profile of a generated dataset (None for hand-written ones).
    """

    name: str
    kind: str
    data: Dataset
    expectations: list[Expectation]
    twin: Dataset | None = None
    description: str = ""
    profile: str | None = None

    @property
    def side(self) -> str:
        """``trained`` or ``held-out`` (the generator profile's side), else ``hand-written``."""
        if self.profile in TRAINING_PROFILES:
            return TRAINED
        if self.profile in HELD_OUT_PROFILES:
            return HELD_OUT
        return HAND_WRITTEN

    @property
    def gated(self) -> bool:
        """Whether the headline gate judges it: held-out profiles and hand-written cases.

        Not the training profiles' datasets (seen in training), nor the real export (gated
        on its own figures: its unlabelled rows make a false-alarm share meaningless).
        """
        return self.side != TRAINED and self.kind != REAL


def without_notes(data: Dataset) -> Dataset:
    """The dataset with every operator note blanked."""
    tx = data.transactions.copy()
    if "note" in tx:
        tx["note"] = pd.Series([None] * len(tx), index=tx.index, dtype=object)
    return Dataset(data.items, data.locations, tx, data.labels, data.extras)
