"""The demo warehouse generator: determinism, contract validity, labels that show their cause."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.generator import GeneratorConfig, generate
from sim.generator.benign import INJECTIONS
from warehouse.contract import (
    ITEM_COLUMNS,
    LABEL_COLUMNS,
    LOCATION_COLUMNS,
    SOURCE_SIGN,
    TRANSACTION_COLUMNS,
    ActionType,
    LocationType,
    ReasonCode,
    RootCause,
    Transaction,
    TxnType,
)
from warehouse.dataset import Dataset

SMALL = GeneratorConfig(seed=7, days=10, skus=80, anomalies=14)


@pytest.fixture(scope="module")
def default_ds() -> Dataset:
    return generate(GeneratorConfig(seed=11))


def _label_rows(ds: Dataset, label: pd.Series) -> pd.DataFrame:
    ids = label["txn_ids"].split()
    return ds.transactions[ds.transactions["txn_id"].isin(ids)]


def _labels(ds: Dataset, variant: str) -> list[pd.Series]:
    assert ds.labels is not None
    rows = [row for _, row in ds.labels.iterrows() if row["variant"] == variant]
    assert rows, f"no case of variant {variant}"
    return rows


def _replay(tx: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """System balance just before each row at (sku, location), by the contract's rules."""
    balance: defaultdict[tuple[str, str], float] = defaultdict(float)
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    for r in tx.itertuples(index=False):
        key = (r.sku, r.location)
        before[r.txn_id] = balance[key]
        balance[key] += SOURCE_SIGN[TxnType(r.type)] * r.eaches
        if isinstance(r.to_location, str):
            balance[(r.sku, r.to_location)] += r.eaches
        after[r.txn_id] = balance[key]
    return before, after


def _stem(description: str) -> str:
    return description.rsplit(" ", 1)[0]


# -- determinism --------------------------------------------------------------------------------

def test_same_seed_gives_identical_frames() -> None:
    a, b = generate(SMALL), generate(SMALL)
    for name in ("items", "locations", "transactions", "labels"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_different_seed_gives_a_different_site() -> None:
    a = generate(SMALL)
    b = generate(SMALL.model_copy(update={"seed": 8}))
    assert not a.items["sku"].equals(b.items["sku"])
    assert len(a.transactions) != len(b.transactions) or not a.transactions["qty"].equals(
        b.transactions["qty"])


# -- contract validity --------------------------------------------------------------------------

def test_every_column_follows_the_contract(default_ds: Dataset) -> None:
    ds = default_ds
    tx = ds.transactions
    assert list(tx.columns) == [*TRANSACTION_COLUMNS, "eaches"]
    assert list(ds.items.columns) == ITEM_COLUMNS
    assert list(ds.locations.columns) == LOCATION_COLUMNS
    assert ds.labels is not None and list(ds.labels.columns[:6]) == LABEL_COLUMNS

    assert str(tx["ts"].dt.tz) == "UTC"
    assert tx["ts"].is_monotonic_increasing
    assert tx["txn_id"].is_unique
    assert set(tx["type"]) == {t.value for t in TxnType}
    assert set(tx["uom"]) <= {"EA", "CS"}
    for col in ("txn_id", "sku", "location", "user_id"):
        assert tx[col].notna().all(), col
    moves = tx["type"].isin(["PUTAWAY", "MOVE"])
    assert tx.loc[moves, "to_location"].notna().all()
    assert tx.loc[~moves, "to_location"].isna().all()
    adjust = tx["type"] == "ADJUSTMENT"
    assert (tx.loc[~adjust & (tx["type"] != "CYCLE_COUNT"), "qty"] > 0).all()
    assert (tx.loc[adjust, "qty"] != 0).all()
    assert set(tx.loc[adjust, "reason_code"]) <= {r.value for r in ReasonCode}
    assert tx.loc[~adjust, "reason_code"].isna().all()
    assert tx.loc[tx["type"].isin(["RECEIPT", "CYCLE_COUNT"]), "expected_qty"].notna().all()
    assert (tx["qty"] == tx["qty"].round()).all()

    known_locations = set(ds.locations["location_id"])
    assert set(tx["location"]) <= known_locations
    assert set(tx["to_location"].dropna()) <= known_locations
    assert set(tx["sku"]) <= set(ds.items["sku"])
    case_qty = ds.items.set_index("sku")["case_qty"]
    cs = tx["uom"] == "CS"
    np.testing.assert_allclose(tx.loc[cs, "eaches"], tx.loc[cs, "qty"] * tx.loc[cs, "sku"].map(
        case_qty))

    assert ds.items["sku"].is_unique and (ds.items["case_qty"] >= 1).all()
    assert (ds.items["unit_weight_kg"] > 0).all() and (ds.items["unit_cost"] >= 0).all()
    assert ds.items["gtin"].str.fullmatch(r"\d{13}").all()
    assert set(ds.items["home_location"]) <= known_locations
    assert set(ds.locations["type"]) == {t.value for t in LocationType}
    assert ds.locations["location_id"].is_unique

    sample = tx.sample(300, random_state=0)
    for row in sample.drop(columns="eaches").to_dict("records"):
        clean = {k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))}
        clean["ts"] = row["ts"].isoformat()
        Transaction.model_validate(clean)


def test_count_expected_qty_is_the_system_balance_the_log_replays_to(default_ds: Dataset) -> None:
    tx = default_ds.transactions
    before, _ = _replay(tx)
    counts = tx[tx["type"] == "CYCLE_COUNT"]
    replayed = counts["txn_id"].map(before)
    assert (replayed == counts["expected_qty"]).all()


def test_cycle_counts_reveal_physical_divergence(default_ds: Dataset) -> None:
    tx = default_ds.transactions
    assert default_ds.labels is not None
    labelled = set(" ".join(default_ds.labels["txn_ids"]).split())
    counts = tx[tx["type"] == "CYCLE_COUNT"]
    variance = counts["qty"] - counts["expected_qty"]
    assert (variance[counts["txn_id"].isin(labelled)] != 0).sum() >= 10
    # Unlabelled variances are explained: a COUNT_CORRECTION of exactly the variance under the
    # same count ref, or a recount of the same bin that agrees with the system.
    corrections = tx[(tx["reason_code"] == "COUNT_CORRECTION")].set_index("ref")["qty"]
    unexplained = 0
    for r, v in zip(counts.itertuples(), variance, strict=True):
        if v == 0 or r.txn_id in labelled:
            continue
        if corrections.get(r.ref) == v:
            continue
        later = counts[(counts["sku"] == r.sku) & (counts["location"] == r.location)
                       & (counts["ts"] > r.ts)]
        if len(later):
            continue
        unexplained += 1
    assert unexplained == 0
    assert (variance[~counts["txn_id"].isin(labelled)] != 0).sum() > 0, "no benign variance"


# -- labels -------------------------------------------------------------------------------------

def test_all_seven_root_causes_are_labelled(default_ds: Dataset) -> None:
    labels = default_ds.labels
    assert labels is not None
    per_cause = labels["root_cause"].value_counts()
    assert set(per_cause.index) == {rc.value for rc in RootCause}
    assert per_cause.min() >= 6
    assert 40 <= len(labels) <= 80
    assert labels.groupby("root_cause")["variant"].nunique().min() >= 2


def test_label_txn_ids_exist_and_values_are_contract_values(default_ds: Dataset) -> None:
    labels = default_ds.labels
    assert labels is not None
    ids = set(default_ds.transactions["txn_id"])
    for _, label in labels.iterrows():
        assert label["txn_ids"] and set(label["txn_ids"].split()) <= ids
        RootCause(label["root_cause"])
        ActionType(label["action"])
    assert labels["case_id"].is_unique
    expected = {"UOM_MASTER_DATA": {"CORRECT_MASTER_DATA"}, "SYSTEM_SYNC": {
        "VOID_DUPLICATE", "INVESTIGATE"}, "LEGITIMATE": {"NO_ACTION"}, "SHRINKAGE": {
        "INVESTIGATE"}, "RECEIVING_ERROR": {"SUPPLIER_CLAIM", "ADJUST_INVENTORY"}}
    for rc, actions in expected.items():
        assert set(labels.loc[labels["root_cause"] == rc, "action"]) <= actions


def test_receiving_errors_show_in_the_receipt(default_ds: Dataset) -> None:
    ds = default_ds
    items = ds.items.set_index("sku")
    receipts = ds.transactions[ds.transactions["type"] == "RECEIPT"]
    for variant in ("short_shipped", "over_shipped", "keyed_asn_qty", "miscount"):
        for label in _labels(ds, variant):
            r = _label_rows(ds, label).query("type == 'RECEIPT'").iloc[0]
            assert len(receipts[receipts["ref"] == r["ref"]]) == 1  # no completing receipt
            fits = r["weight_kg"] / (r["eaches"] * items.loc[r["sku"], "unit_weight_kg"])
            if variant == "short_shipped":
                assert r["qty"] < r["expected_qty"] and fits == pytest.approx(1, abs=0.05)
            elif variant == "over_shipped":
                assert r["qty"] > r["expected_qty"] and fits == pytest.approx(1, abs=0.05)
            elif variant == "keyed_asn_qty":
                assert r["qty"] == r["expected_qty"] and fits < 0.97  # dock weight too light
            else:
                assert r["qty"] != r["expected_qty"]
                fits_asn = r["weight_kg"] / (r["expected_qty"] * r["eaches"] / r["qty"]
                                             * items.loc[r["sku"], "unit_weight_kg"])
                assert fits_asn == pytest.approx(1, abs=0.05)


def test_duplicates_repeat_the_payload_under_two_ids(default_ds: Dataset) -> None:
    payload = [c for c in TRANSACTION_COLUMNS if c not in ("txn_id", "note")]
    for label in _labels(default_ds, "duplicate"):
        rows = _label_rows(default_ds, label)
        assert len(rows) == 2
        a, b = (rows.iloc[i][payload] for i in range(2))
        assert a.fillna("").equals(b.fillna(""))


def test_late_events_explain_a_negative_balance(default_ds: Dataset) -> None:
    _, after = _replay(default_ds.transactions)
    seen_negative = 0
    for label in _labels(default_ds, "late_event"):
        rows = _label_rows(default_ds, label)
        move = rows[rows["type"] == "MOVE"]
        assert len(move) == 1
        picks = rows[rows["type"] == "PICK"]
        assert (picks["ts"] < move["ts"].iloc[0]).all()
        assert all(after[t] < 0 for t in picks["txn_id"])
        seen_negative += len(picks) > 0
    assert seen_negative >= 1


def test_mis_scans_show_their_signature(default_ds: Dataset) -> None:
    ds = default_ds
    items = ds.items.set_index("sku")
    before, _ = _replay(ds.transactions)
    weighed = 0
    for label in _labels(ds, "lookalike_pick"):
        rows = _label_rows(ds, label)
        pick = rows[rows["type"] == "PICK"].iloc[0]
        counts = rows[rows["type"] == "CYCLE_COUNT"]
        variance = counts["qty"] - counts["expected_qty"]
        assert (variance[counts["sku"] == pick["sku"]] >= 0).all()
        assert (variance[counts["sku"] != pick["sku"]] <= 0).all()
        assert counts["sku"].nunique() == 2
        other = counts.loc[counts["sku"] != pick["sku"], "sku"].iloc[0]
        assert _stem(items.loc[other, "description"]) == _stem(items.loc[pick["sku"],
                                                                         "description"])
        if pd.notna(pick["weight_kg"]):
            weighed += 1
            w_other = pick["qty"] * items.loc[other, "unit_weight_kg"]
            w_self = pick["qty"] * items.loc[pick["sku"], "unit_weight_kg"]
            assert abs(pick["weight_kg"] - w_other) < abs(pick["weight_kg"] - w_self)
    for label in _labels(ds, "double_scan"):
        picks = _label_rows(ds, label).query("type == 'PICK'")
        assert len(picks) == 2
        assert picks["device_id"].nunique() == 1 and picks["qty"].nunique() == 1
        assert 0 < (picks["ts"].iloc[1] - picks["ts"].iloc[0]).total_seconds() <= 15
    for label in _labels(ds, "wrong_location"):
        pick = _label_rows(ds, label).query("type == 'PICK'").iloc[0]
        assert before[pick["txn_id"]] <= 0  # picked from a bin without stock
        assert pick["location"] != items.loc[pick["sku"], "home_location"]


def test_uom_cases_show_pack_multiples_and_a_constant_weight_ratio(default_ds: Dataset) -> None:
    ds = default_ds
    items = ds.items.set_index("sku")
    for variant in ("case_qty", "pack_change", "unit_weight"):
        for label in _labels(ds, variant):
            rows = _label_rows(ds, label)
            receipts = rows[rows["type"] == "RECEIPT"]
            assert len(receipts) >= 1
            sku = label["sku"]
            ratio = receipts["weight_kg"] / (receipts["eaches"] * items.loc[sku,
                                                                             "unit_weight_kg"])
            assert ratio.std() / ratio.mean() < 0.03 if len(ratio) > 1 else True
            assert abs(ratio.mean() - 1) > 0.03
            # a shelf counted empty shows the whole phantom balance, so only non-empty bins
            counts = rows[(rows["type"] == "CYCLE_COUNT") & (rows["qty"] > 0)]
            variance = (counts["qty"] - counts["expected_qty"])
            variance = variance[variance != 0]
            if variant == "case_qty" and len(variance):
                assert (variance > 0).all() or (variance < 0).all()  # one sign everywhere
            if variant != "unit_weight" and len(variance):
                # in multiples of the pack difference (the true pack read off the dock weight)
                diff = abs(ratio.mean() - 1) * items.loc[sku, "case_qty"]
                assert any((variance % d == 0).all() for d in (round(diff) - 1, round(diff),
                                                                round(diff) + 1) if d > 0)


def test_slotting_cases_show_their_signature(default_ds: Dataset) -> None:
    ds = default_ds
    items = ds.items.set_index("sku")
    locations = ds.locations.set_index("location_id")
    for label in _labels(ds, "neighbour_bin"):
        counts = _label_rows(ds, label).query("type == 'CYCLE_COUNT'")
        variance = counts["qty"] - counts["expected_qty"]
        assert (variance < 0).any() and (variance > 0).any()  # mirrored
    for label in _labels(ds, "away_from_home"):
        put = _label_rows(ds, label).query("type == 'PUTAWAY'")
        assert (put["to_location"] != put["sku"].map(items["home_location"])).all()
    for label in _labels(ds, "cage_outside"):
        put = _label_rows(ds, label).query("type == 'PUTAWAY'")
        home_types = put["sku"].map(items["home_location"]).map(locations["type"])
        assert (home_types == "CAGE").all()
        assert (put["to_location"].map(locations["type"]) != "CAGE").all()
    for label in _labels(ds, "overweight"):
        put = _label_rows(ds, label).query("type == 'PUTAWAY'")
        assert (put["weight_kg"] > put["to_location"].map(locations["max_weight_kg"])).all()


def test_shrinkage_cases_show_their_signature(default_ds: Dataset) -> None:
    ds = default_ds
    for label in _labels(ds, "writeoffs"):
        adj = _label_rows(ds, label).query("type == 'ADJUSTMENT'")
        assert len(adj) >= 2 and (adj["qty"] < 0).all()
        assert adj["user_id"].nunique() == 1 and adj["sku"].nunique() == 1
    for label in _labels(ds, "unrecorded_loss"):
        counts = _label_rows(ds, label).query("type == 'CYCLE_COUNT'")
        assert (counts["qty"] < counts["expected_qty"]).any()


def test_benign_look_alikes_are_present_and_unlabelled(default_ds: Dataset) -> None:
    ds = default_ds
    tx = ds.transactions
    assert ds.labels is not None
    labelled = set(" ".join(ds.labels["txn_ids"]).split())
    receipts = tx[tx["type"] == "RECEIPT"]
    per_ref = receipts.groupby("ref")
    # two receipts against one ASN and neither labelled: a partial delivery completed later
    split = [ref for ref, g in per_ref if len(g) == 2 and not set(g["txn_id"]) & labelled]
    assert split, "no partial delivery"
    for ref in split:
        g = per_ref.get_group(ref)
        assert g["qty"].iloc[0] < g["expected_qty"].iloc[0]
        assert g["qty"].sum() == g["expected_qty"].iloc[0]
    notes = tx["note"].dropna()
    assert notes.isin(INJECTIONS).sum() >= 3  # instruction-looking notes stay plain data
    late_picks = tx[(tx["type"] == "PICK") & (tx["ts"].dt.hour >= 22)]
    assert len(late_picks) > 0  # overtime


# -- the command --------------------------------------------------------------------------------

def test_generate_command_writes_a_contract_folder(tmp_path: Path) -> None:
    from api.cli.main import app

    out = tmp_path / "site"
    result = CliRunner().invoke(app, ["generate", "--out", str(out), "--seed", "3", "--days",
                                      "8", "--skus", "60", "--anomalies", "14"])
    assert result.exit_code == 0, result.output
    for name in ("items.csv", "locations.csv", "transactions.csv", "labels.csv"):
        assert (out / name).is_file()
    tx = pd.read_csv(out / "transactions.csv")
    assert list(tx.columns) == TRANSACTION_COLUMNS
    assert tx["ts"].str.endswith("+00:00").all()
    labels = pd.read_csv(out / "labels.csv")
    assert set(" ".join(labels["txn_ids"]).split()) <= set(tx["txn_id"])
    assert "labelled cases" in result.output


def test_generate_command_gzip(tmp_path: Path) -> None:
    from api.cli.main import app

    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path), "--days", "7",
                                      "--skus", "40", "--anomalies", "7", "--gzip"])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "transactions.csv.gz")) > 100


def test_generate_command_rejects_bad_input_with_one_line(tmp_path: Path) -> None:
    from api.cli.main import app
    from warehouse.errors import UserError

    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path), "--days", "1"])
    assert isinstance(result.exception, UserError)
    assert "--days" in str(result.exception)


def test_generated_folder_loads_with_zero_rejects(tmp_path: Path) -> None:
    from api.cli.main import app
    from warehouse.loader import load_dataset

    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path), "--days", "7",
                                      "--skus", "50", "--anomalies", "7"])
    assert result.exit_code == 0, result.output
    loaded = load_dataset(tmp_path)
    assert loaded.report.rejected == 0 and loaded.report.rejects == []
    assert loaded.report.redelivered == 0
    assert len(loaded.dataset.transactions) == len(pd.read_csv(tmp_path / "transactions.csv"))
