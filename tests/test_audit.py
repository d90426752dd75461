"""The audit chain: appends link up, any edit, deletion or reordering is caught."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from actions.audit import AuditHead, AuditKind, AuditLog, AuditRecord


def _engine(url: str) -> Engine:
    engine = create_engine(url)
    AuditRecord.metadata.create_all(
        engine,
        tables=[AuditRecord.__table__, AuditHead.__table__],  # type: ignore[attr-defined]
    )
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/audit.db"
    else:
        url = request.getfixturevalue("pg_url")
    eng = _engine(url)
    yield eng
    eng.dispose()


def _fill(log: AuditLog, n: int = 5) -> None:
    for i in range(n):
        log.append(AuditKind.FLAG, {"txn_id": f"T{i}", "score": 0.5 + i / 100}, f"T{i}")


def test_appends_chain_and_verify(engine: Engine) -> None:
    log = AuditLog(engine)
    first = log.append(AuditKind.DECISION, {"ticket": "K1", "decision": "approve"}, "K1")
    second = log.append("WRITE_BACK", {"ticket": "K1", "status": "APPLIED"}, "K1")
    assert (first.seq, second.seq) == (1, 2)
    assert first.hash != second.hash
    report = log.verify()
    assert report.ok, report.problems
    assert (report.records, report.head_seq, report.head_hash) == (2, 2, second.hash)
    assert [e.payload["status"] for e in log.entries(kind=AuditKind.WRITE_BACK)] == ["APPLIED"]
    assert [e.seq for e in log.entries(correlation_id="K1")] == [1, 2]


def test_rejects_unknown_kind_and_non_object_payload(engine: Engine) -> None:
    log = AuditLog(engine)
    with pytest.raises(ValueError):
        log.append("GOSSIP", {"a": 1})
    with pytest.raises(ValueError):
        log.append(AuditKind.FLAG, [1, 2])  # type: ignore[arg-type]
    assert log.verify().records == 0


@pytest.mark.parametrize(
    ("tamper", "seq", "words"),
    [
        ("UPDATE audit_log SET payload = '{\"txn_id\":\"T2\",\"score\":0.01}' WHERE seq = 3",
         3, "edited"),
        ("UPDATE audit_log SET correlation_id = 'X' WHERE seq = 2", 2, "edited"),
        ("DELETE FROM audit_log WHERE seq = 3", 4, "gap"),
        ("DELETE FROM audit_log WHERE seq = 5", 5, "deleted"),
        ("UPDATE audit_log SET seq = 99 WHERE seq = 2; "
         "UPDATE audit_log SET seq = 2 WHERE seq = 3; "
         "UPDATE audit_log SET seq = 3 WHERE seq = 99", 2, "link broken"),
    ],
    ids=["edit-payload", "edit-correlation", "delete-middle", "delete-tail", "reorder"],
)
def test_detects_tampering(engine: Engine, tamper: str, seq: int, words: str) -> None:
    log = AuditLog(engine)
    _fill(log)
    assert log.verify().ok
    with engine.begin() as conn:
        for statement in tamper.split("; "):
            conn.exec_driver_sql(statement)
    report = log.verify()
    assert not report.ok
    assert any(p.seq == seq and words in p.problem for p in report.problems), report.problems


def test_concurrent_writers_never_fork_the_chain(engine: Engine) -> None:
    log = AuditLog(engine)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(15):
                log.append(AuditKind.INFERENCE, {"writer": w, "i": i}, f"W{w}")
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = log.verify()
    assert report.ok, report.problems
    assert report.records == report.head_seq == 60


def test_cli_verify_exits_non_zero_on_tampering(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warehouse.cli import app

    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("TALLY_DATABASE_URL", url)
    engine = _engine(url)
    _fill(AuditLog(engine), 3)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "3 records" in ok.output
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET kind = 'DECISION' WHERE seq = 2"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "record 2" in bad.output
