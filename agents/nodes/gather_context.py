"""Node: fill the case file with evidence (E1..En, each with its source), features and notes."""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np
import pandas as pd
from langgraph.types import Command

from agents.case import CaseFile
from agents.features import FeatureContext, case_features
from agents.state import TicketState
from scoring.notes import read_note
from tools.count_history import count_history
from tools.duplicate_candidates import duplicate_candidates
from tools.item_master import item_master
from tools.ledger_replay import ledger_replay
from tools.location_details import location_details
from tools.lookalike_skus import lookalike_skus
from tools.master_data_history import master_data_history
from tools.receipt_vs_asn import receipt_vs_asn
from tools.recent_transactions import TxnRow
from tools.user_activity import user_activity
from tools.view import WarehouseView, cell_float, cell_str, row_dicts
from warehouse.contract import EvidenceItem

MAX_ROWS = 6
"""Incident transactions quoted as evidence (the earliest ones; the rest are counted)."""
MAX_FLAGS = 8
"""Scorer flags quoted as evidence (strongest first; the rest are counted)."""


class _Facts(Protocol):
    """A tool's answer: it renders itself as evidence sentences."""

    def facts(self) -> list[str]:
        """The evidence sentences."""


class GatherContext:
    """Runs the read-only tools that bear on the incident and builds the case file.

    Args:
        view: the warehouse the incident was scored on.
        features: feature indexes over the same data.
    """

    def __init__(self, view: WarehouseView, features: FeatureContext) -> None:
        self.view = view
        self.features = features

    def __call__(self, state: TicketState) -> Command[Literal["classify"]]:
        """Gather evidence, then classify."""
        return Command(goto="classify", update={"case": self.gather(state)})

    def gather(self, state: TicketState) -> CaseFile:
        """The case file of the state's incident."""
        inc = state.incident
        feats = case_features(inc, self.features)
        rows = self.view.txns(inc.txn_ids)
        flags = sorted(inc.flags, key=lambda f: -f.score)
        facts: list[tuple[str, str]] = [(f.reason, f"scorer:{f.detector}")
                                        for f in flags[:MAX_FLAGS]]
        if len(flags) > MAX_FLAGS:
            facts.append((f"{len(flags)} scorer flags in the incident in all", "scorer"))
        facts += [(TxnRow.from_row(r).fact(), "transactions")
                  for r in row_dicts(rows.head(MAX_ROWS))]
        if len(rows) > MAX_ROWS:
            facts.append((f"{len(rows)} transactions in the incident in all", "transactions"))
        facts += note_facts(rows)
        calls = 0
        for source, result in self._tool_results(inc.sku, inc.location, rows, feats):
            calls += 1
            if result is not None:
                facts += [(fact, source) for fact in result.facts()]
        evidence = [EvidenceItem(id=f"E{i}", fact=fact, source=source)
                    for i, (fact, source) in enumerate(dict.fromkeys(facts), start=1)]
        notes = [n for n in map(cell_str, rows["note"]) if n] if "note" in rows else []
        return CaseFile(incident=inc, evidence=evidence, features=feats, notes=notes,
                        tool_calls=calls)

    def _tool_results(self, sku: str | None, location: str | None, rows: pd.DataFrame,
                      f: dict[str, float]) -> list[tuple[str, _Facts | None]]:
        """Only the tools the incident's signals call for (each is cheap, none is free)."""
        v = self.view
        sku = sku or (str(rows["sku"].mode().iloc[0]) if len(rows) else None)
        location = location or (str(rows["location"].mode().iloc[0]) if len(rows) else None)
        out: list[tuple[str, _Facts | None]] = []
        if sku:
            out.append(("item_master", item_master(v, sku)))
        if location:
            out.append(("location_details", location_details(v, location, neighbours=3)))
        if sku and (f["has_counts"] or f["neg_balance"] or f["pick_without_stock"]):
            out.append(("count_history", count_history(v, sku, limit=5)))
            if location:
                out.append(("ledger_replay", ledger_replay(v, sku, location)))
        if sku and (f["weight_ratio_pack"] or f["weight_ratio_steady"] or f["var_pack_multiple"]):
            out.append(("master_data_history", master_data_history(v, sku)))
        kind, refs = rows["type"].to_numpy(dtype=object), rows["ref"].to_numpy(dtype=object)
        for ref in pd.unique(refs[(kind == "RECEIPT") & pd.notna(refs)])[:2]:
            out.append(("receipt_vs_asn", receipt_vs_asn(v, str(ref), sku=sku)))
        if f["dup_payload"] or f["double_scan"]:
            for txn in rows["txn_id"].iloc[:3]:
                out.append(("duplicate_candidates", duplicate_candidates(v, str(txn))))
        if sku and (f["weight_off"] or f["mirror_lookalike"] or f["pick_without_stock"]):
            kg = rows["weight_kg"].to_numpy(dtype=float)
            weighed = np.flatnonzero(~np.isnan(kg) & (rows["sku"].to_numpy(dtype=object) == sku))
            w = int(weighed[0]) if len(weighed) else None
            out.append(("lookalike_skus", lookalike_skus(
                v, sku, weight_kg=cell_float(kg[w]) if w is not None else None,
                eaches=cell_float(rows["eaches"].iat[w]) if w is not None else None, limit=3)))
        users = rows["user_id"].to_numpy(dtype=object)
        adjusters = users[(kind == "ADJUSTMENT") & pd.notna(users)]
        if len(adjusters):
            busiest = str(pd.Series(adjusters).mode().iloc[0])
            out.append(("user_activity", user_activity(v, busiest)))
        return out


def note_facts(rows: pd.DataFrame) -> list[tuple[str, str]]:
    """Floor notes that say something about the cause, quoted as data with their reading.

    Only notes :func:`scoring.notes.read_note` reads a signal from are quoted; a note that
    addresses the system stays out of the evidence (it reaches an LLM only fenced, as data).
    """
    if "note" not in rows:
        return []
    out = []
    for txn, text in zip(rows["txn_id"], map(cell_str, rows["note"]), strict=True):
        readings = read_note(text)
        if readings:
            labels = "; ".join(r.label for r in readings)
            out.append((f'note on {txn} reads "{readings[0].text}" (operator text, read as '
                        f"data: {labels})", "transactions:note"))
    return out
