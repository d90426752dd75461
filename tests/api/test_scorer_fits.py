"""Signed scorer fits: a loaded fit flags what the fitted one does; a bad row is refused."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from api.stream.fits import FitRefused, dump_fit, load_fit
from api.stream.scoring import StreamScorer
from api.stream_tables import ScorerFit
from scoring import Scorer
from sim.generator import GeneratorConfig, generate
from tests.api.test_service_scorer import rows
from tests.api_fixtures import open_store
from warehouse.dataset import Dataset
from warehouse.writer import write_dataset

_FITS = ScorerFit.__table__  # type: ignore[attr-defined]
KEY = b"test-key"


@pytest.fixture(scope="module")
def halves() -> tuple:
    data = generate(GeneratorConfig(seed=5, days=7, skus=40))
    tx = data.transactions.reset_index(drop=True)
    cut = len(tx) - 20  # score_event takes ~0.1 s an event here
    history = Dataset(data.items, data.locations, tx.iloc[:cut], None, {})
    return history, rows(tx.iloc[cut:])


def _flags(scorer: Scorer, events: list[dict]) -> list[tuple[str, str]]:
    return [(f.txn_id, f.detector) for e in events for f in scorer.score_event(e)]


def test_a_loaded_fit_flags_exactly_what_the_fitted_scorer_does(halves: tuple) -> None:
    history, events = halves
    fitted = Scorer().fit(history)
    blob = dump_fit(fitted, key=KEY, site="north")
    loaded = load_fit(blob, key=KEY, site="north", fit_id=1)
    assert loaded is not None
    expected = _flags(fitted, events)
    assert expected  # the generated site raises flags after its history
    assert _flags(loaded, events) == expected
    assert load_fit(dump_fit(None, key=KEY, site="north"), key=KEY, site="north", fit_id=2) is None


class _Boom:
    def __reduce__(self) -> tuple:
        return (pytest.fail, ("an unsigned pickle was unpickled",))


@pytest.mark.parametrize(("make_blob", "problem"), [
    (lambda good: pickle.dumps(_Boom()), "not a tally-fit-v1 blob"),
    (lambda good: good[:-1] + bytes([good[-1] ^ 1]), "HMAC does not match"),
    (lambda good: dump_fit(None, key=b"other-key", site="north"), "HMAC does not match"),
    (lambda good: dump_fit(None, key=KEY, site="south"), "HMAC does not match"),
], ids=["unsigned pickle", "edited payload", "other key", "other site's fit"])
def test_a_bad_blob_is_refused_before_unpickling(make_blob, problem: str) -> None:  # noqa: ANN001
    good = dump_fit(None, key=KEY, site="north")
    with pytest.raises(FitRefused, match=rf"scorer_fit row 7 \(site 'north'\): .*{problem}"):
        load_fit(make_blob(good), key=KEY, site="north", fit_id=7)


def test_workers_share_signed_fits_and_refit_instead_of_reading_a_tampered_row(
        tmp_path: Path, halves: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_AUDIT_KEY", "a-secret-key")
    history, events = halves
    write_dataset(history, tmp_path / "history")
    store = open_store(tmp_path)
    store.ingest(tmp_path / "history")
    first = StreamScorer(store)
    fitted = first.partition("default", 0).scorer
    assert fitted is not None
    second = StreamScorer(store)  # another worker loads the stored fit
    loaded = second.partition("default", 0).scorer
    assert loaded is not None and loaded is not fitted
    assert _flags(loaded, events) == _flags(fitted, events)
    with store.engine.begin() as conn:
        fit_id = conn.execute(select(_FITS.c.id)).scalar_one()
        conn.execute(update(_FITS).values(model=pickle.dumps(_Boom())))
    third = StreamScorer(store).partition("default", 0).scorer  # refused unread, refitted
    assert third is not None and _flags(third, events) == _flags(fitted, events)
    with store.engine.connect() as conn:
        assert conn.execute(select(_FITS.c.id).order_by(_FITS.c.id)).scalars().all()[0] == fit_id
        assert conn.execute(select(func.count()).select_from(_FITS)).scalar_one() == 2
    store.close()
