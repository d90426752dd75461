"""Site profiles: each writes a valid contract dataset and records the way it claims to."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.generator import GeneratorConfig, generate
from sim.generator.profiles import (
    HELD_OUT_PROFILES,
    PROFILES,
    TRAINING_PROFILES,
    refuse_held_out,
    training_profile,
)
from warehouse.contract import LocationType, RootCause
from warehouse.dataset import Dataset
from warehouse.loader.load import load_dataset
from warehouse.writer import write_dataset


def _small(profile: str, seed: int = 5) -> GeneratorConfig:
    days = 21 if PROFILES[profile].kind == "ecommerce" else 10
    return GeneratorConfig(seed=seed, days=days, skus=120, profile=profile)


@pytest.fixture(scope="module")
def datasets() -> dict[str, Dataset]:
    return {name: generate(_small(name)) for name in PROFILES}


def _receipts(ds: Dataset) -> pd.DataFrame:
    tx = ds.transactions
    return tx[tx["type"] == "RECEIPT"]


def _types(ds: Dataset) -> dict[str, str]:
    return dict(zip(ds.locations["location_id"], ds.locations["type"], strict=True))


@pytest.mark.parametrize("name", list(PROFILES))
def test_profile_writes_a_valid_dataset_whose_labels_point_at_real_rows(
        name: str, datasets: dict[str, Dataset], tmp_path: Path) -> None:
    ds = datasets[name]
    write_dataset(ds, tmp_path)
    loaded = load_dataset(tmp_path)
    assert loaded.report.rejected == 0
    assert loaded.report.redelivered == 0
    assert len(loaded.dataset.transactions) == len(ds.transactions)
    ids = set(loaded.dataset.transactions["txn_id"])
    labels = loaded.dataset.labels
    assert labels is not None and len(labels) >= 10
    for row in labels.itertuples():
        assert set(str(row.txn_ids).split()) <= ids, row.case_id
    known_skus = set(loaded.dataset.items["sku"])
    assert set(loaded.dataset.transactions["sku"]) <= known_skus
    assert set(labels["root_cause"]) >= {RootCause.MIS_SCAN.value, RootCause.SHRINKAGE.value,
                                         RootCause.UOM_MASTER_DATA.value,
                                         RootCause.SYSTEM_SYNC.value}


@pytest.mark.parametrize("name", ["pallet-asn", "shop-export", "total-noscale"])
def test_profile_is_deterministic_per_seed(name: str, datasets: dict[str, Dataset]) -> None:
    again = generate(_small(name))
    pd.testing.assert_frame_equal(again.transactions, datasets[name].transactions)
    pd.testing.assert_frame_equal(again.labels, datasets[name].labels)
    other = generate(_small(name, seed=6))
    assert not other.transactions["txn_id"].equals(datasets[name].transactions["txn_id"]) \
        or not other.transactions["qty"].equals(datasets[name].transactions["qty"])


def test_per_pallet_asn_puts_one_sku_on_several_lines_of_one_ref(
        datasets: dict[str, Dataset]) -> None:
    lines = _receipts(datasets["pallet-asn"]).groupby(["ref", "sku"]).size()
    assert (lines >= 2).mean() > 0.5
    per_sku = _receipts(datasets["reference"]).groupby(["ref", "sku"])
    # the reference site posts one line per SKU: a second receipt only for a partial delivery
    # and then with the open quantity, never the same expectation twice
    assert (per_sku["expected_qty"].nunique() == per_sku.size()).all()


def test_per_pallet_line_expectations_sum_to_the_asn(datasets: dict[str, Dataset]) -> None:
    rec = _receipts(datasets["pallet-asn"])
    clean = rec.groupby(["ref", "sku"]).filter(lambda g: (g["qty"] == g["expected_qty"]).all())
    assert len(clean) > 20  # most pallets arrive as announced, each with its own line's qty


def test_total_convention_repeats_the_asn_total_on_partial_receipts(
        datasets: dict[str, Dataset]) -> None:
    rec = _receipts(datasets["nocage-total"])
    groups = rec.groupby(["ref", "sku"])
    repeated = groups.filter(lambda g: len(g) > 1 and g["expected_qty"].nunique() == 1
                             and g["qty"].sum() == g["expected_qty"].iloc[0])
    assert repeated["ref"].nunique() >= 3


def test_no_cage_site_has_no_cage_and_no_cage_case(datasets: dict[str, Dataset]) -> None:
    for name in ("nocage-total", "pallet-blind"):
        ds = datasets[name]
        assert LocationType.CAGE.value not in set(ds.locations["type"])
        assert "cage_outside" not in set(ds.labels["variant"])
    assert LocationType.CAGE.value in set(datasets["reference"].locations["type"])


def test_direct_receiving_posts_receipts_at_storage_without_putaways(
        datasets: dict[str, Dataset]) -> None:
    ds = datasets["blind-direct"]
    types = _types(ds)
    at = {types[loc] for loc in _receipts(ds)["location"]}
    assert at <= {"PICK", "RESERVE", "BULK", "CAGE"}
    dock_rows = ds.transactions["location"].map(types) == "DOCK"
    assert not dock_rows.any()
    ref = datasets["reference"]
    ref_types = {_types(ref)[loc] for loc in _receipts(ref)["location"]}
    assert ref_types == {"DOCK"}


def test_blind_counts_devices_and_scales_follow_the_profile(datasets: dict[str, Dataset]) -> None:
    def counts(name: str) -> pd.DataFrame:
        tx = datasets[name].transactions
        return tx[tx["type"] == "CYCLE_COUNT"]

    assert counts("blind-direct")["expected_qty"].isna().all()
    assert counts("reference")["expected_qty"].notna().all()
    share = counts("total-noscale")["expected_qty"].isna().mean()
    assert 0.3 < share < 0.7
    assert datasets["blind-direct"].transactions["device_id"].isna().all()
    assert datasets["total-noscale"].transactions["weight_kg"].isna().all()
    assert datasets["total-noscale"].items["unit_weight_kg"].notna().all()
    picks = datasets["yen-pallet"].transactions.query("type == 'PICK'")
    assert picks["weight_kg"].notna().mean() > 0.95
    ref_picks = datasets["reference"].transactions.query("type == 'PICK'")
    assert ref_picks["weight_kg"].notna().mean() < 0.4


def test_naming_costs_and_clock_differ_from_the_reference(datasets: dict[str, Dataset]) -> None:
    ref = datasets["reference"]
    for name in ("pallet-asn", "blind-direct", "pallet-blind"):
        ds = datasets[name]
        assert not set(ds.items["sku"]) & set(ref.items["sku"])
        assert not set(ds.locations["location_id"]) & set(ref.locations["location_id"])
        assert not set(ds.transactions["user_id"]) & set(ref.transactions["user_id"])
        assert not set(ds.transactions["txn_id"]) & set(ref.transactions["txn_id"])
        assert set(ds.items["home_location"].dropna()) <= set(ds.locations["location_id"])
    yen = datasets["yen-pallet"].items["unit_cost"].median()
    assert yen > 50 * ref.items["unit_cost"].median()
    hours = datasets["blind-direct"].transactions["ts"].dt.hour
    ref_hours = ref.transactions["ts"].dt.hour
    assert hours.value_counts().idxmax() != ref_hours.value_counts().idxmax()


def test_ecommerce_export_looks_like_the_real_one(datasets: dict[str, Dataset]) -> None:
    ds = datasets["shop-export"]
    tx = ds.transactions
    assert set(tx["type"]) == {"PICK", "RETURN", "ADJUSTMENT"}
    assert set(tx["location"]) == {"WH"}
    assert set(ds.locations["location_id"]) == {"WH", "RETURNS"}
    assert set(tx.loc[tx["type"] == "PICK", "user_id"]) == {"ORDERS"}
    adj = tx[tx["type"] == "ADJUSTMENT"]
    assert set(adj["user_id"]) == {"STOCK"} and set(adj["reason_code"]) == {"OTHER"}
    notes = set(adj["note"].dropna().str.lower())
    assert {"damages", "found", "?"} & notes
    assert tx["device_id"].isna().all() and tx["weight_kg"].isna().all()
    picks = tx[tx["type"] == "PICK"]
    assert picks.duplicated(["ref", "sku", "qty", "ts"]).any()  # the feed repeats lines
    running = tx.assign(signed=tx["qty"].where(tx["type"] != "PICK", -tx["qty"]))
    assert (running.groupby("sku")["signed"].cumsum() < 0).any()  # no opening stock
    feed = ds.labels[ds.labels["variant"] == "feed_repeat"]
    assert len(feed) == 1 and feed["action"].iloc[0] == "INVESTIGATE"
    copies = set(feed["txn_ids"].iloc[0].split())
    assert copies == set(picks.loc[picks.duplicated(["ref", "sku", "qty", "ts"]), "txn_id"])
    pair = ds.labels[ds.labels["variant"] == "offsetting_codes"].iloc[0]
    rows = tx[tx["txn_id"].isin(pair["txn_ids"].split())]
    assert rows["qty"].sum() == 0 and rows["sku"].nunique() == 2
    assert {"RECEIVING_ERROR", "SLOTTING"}.isdisjoint(set(ds.labels["root_cause"]))


def test_training_and_held_out_profiles_are_disjoint_and_cover_all() -> None:
    assert not set(TRAINING_PROFILES) & set(HELD_OUT_PROFILES)
    assert set(TRAINING_PROFILES) | set(HELD_OUT_PROFILES) == set(PROFILES)
    assert {training_profile(s) for s in range(1, 10)} == set(TRAINING_PROFILES)
    assert any(PROFILES[p].kind == "ecommerce" for p in HELD_OUT_PROFILES)
    with pytest.raises(ValueError, match="held out"):
        refuse_held_out(HELD_OUT_PROFILES[0], "training")
    refuse_held_out(TRAINING_PROFILES[0], "training")


def test_unknown_profile_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: reference"):
        GeneratorConfig(profile="nowhere")


def test_generate_command_takes_a_profile_and_lists_them(tmp_path: Path) -> None:
    from api.cli.main import app

    runner = CliRunner()
    help_text = runner.invoke(app, ["generate", "--help"], terminal_width=200).output
    for name in PROFILES:
        assert name in help_text
    out = tmp_path / "shop"
    result = runner.invoke(app, ["generate", "--out", str(out), "--profile", "shop-export",
                                 "--days", "14", "--skus", "60", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(out / "transactions.csv")["location"]) == {"WH"}
    bad = runner.invoke(app, ["generate", "--out", str(out), "--profile", "nowhere"])
    assert bad.exit_code != 0
    assert "unknown profile 'nowhere'" in f"{bad.output}{bad.exception}"
