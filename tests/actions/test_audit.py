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
    from api.cli.main import app

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


def _rehash_plain(engine: Engine, from_seq: int) -> None:
    """What an attacker with database access but not the key does: edit, rehash with SHA-256."""
    from warehouse.canonical import canonical_json, sha256_hex

    with engine.begin() as conn:
        rows = conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).mappings().all()
        prev = "0" * 64
        for row in rows:
            if row["seq"] >= from_seq:
                payload = row["payload"].replace("approve", "reject")
                digest = sha256_hex(canonical_json({
                    "seq": row["seq"], "ts": row["ts"], "kind": row["kind"],
                    "correlation_id": row["correlation_id"], "payload": payload,
                    "prev_hash": prev}))
                conn.execute(text("UPDATE audit_log SET payload = :p, prev_hash = :ph, "
                                  "hash = :h WHERE seq = :s"),
                             {"p": payload, "ph": prev, "h": digest, "s": row["seq"]})
                prev = digest
            else:
                prev = row["hash"]
        conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})


def _decisions(log: AuditLog, n: int = 4) -> None:
    for i in range(n):
        log.append(AuditKind.DECISION, {"ticket": f"K{i}", "decision": "approve"}, f"K{i}")


def test_rehash_with_the_plain_hash_function_fails(engine: Engine) -> None:
    log = AuditLog(engine)
    _decisions(log)
    assert log.verify().ok
    _rehash_plain(engine, 2)
    report = log.verify()
    assert not report.ok
    assert {p.seq for p in report.problems if "keyed hash" in p.problem} == {2, 3, 4}


def test_another_key_does_not_verify(engine: Engine, tmp_path: object) -> None:
    _decisions(AuditLog(engine, key=b"site-secret"))
    assert AuditLog(engine, key=b"site-secret").verify().ok
    assert not AuditLog(engine, key=b"guessed").verify().ok


def test_cut_tail_and_rewound_head_fail_against_the_anchor(engine: Engine) -> None:
    log = AuditLog(engine)
    _decisions(log, 5)
    report = log.verify()
    assert report.ok and report.anchored == 5
    with engine.begin() as conn:  # cut records 4 and 5, point the head at 3: self-consistent
        conn.execute(text("DELETE FROM audit_log WHERE seq > 3"))
        conn.execute(text("UPDATE audit_head SET seq = 3, hash = "
                          "(SELECT hash FROM audit_log WHERE seq = 3)"))
    report = log.verify()
    assert not report.ok
    assert [p.seq for p in report.problems] == [4, 5]
    assert all("tail was cut" in p.problem for p in report.problems)


def test_rewritten_chain_that_verifies_in_itself_fails_against_the_anchor(engine: Engine) -> None:
    key = b"leaked-key"
    log = AuditLog(engine, key=key)
    _decisions(log, 3)
    with engine.begin() as conn:  # even with the key: rebuild the chain from scratch
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("UPDATE audit_head SET seq = 0, hash = :g"), {"g": "0" * 64})
    forged = AuditLog(engine, key=key, anchor_path=log.anchor_path.with_name("elsewhere"))
    for i in range(3):
        forged.append(AuditKind.FLAG, {"txn_id": f"T{i}"}, f"T{i}")
    report = log.verify()
    assert not report.ok and any("rewritten" in p.problem for p in report.problems)


def test_lost_anchor_file_fails(engine: Engine) -> None:
    log = AuditLog(engine)
    _decisions(log, 2)
    log.anchor_path.unlink()
    report = log.verify()
    assert not report.ok and "anchor file was lost" in report.problems[0].problem


def test_prod_needs_an_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from warehouse.settings import Settings

    monkeypatch.setenv("TALLY_ENV", "prod")
    with pytest.raises(ValidationError, match="TALLY_AUDIT_KEY"):
        Settings()
    monkeypatch.setenv("TALLY_AUDIT_KEY", "s3cret")
    assert Settings().audit_key.get_secret_value() == "s3cret"


def test_cli_verify_fails_on_rehash_and_on_rewind(tmp_path: object,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from api.cli.main import app

    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("TALLY_DATABASE_URL", url)
    engine = _engine(url)
    _decisions(AuditLog(engine), 4)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "4 anchored" in ok.output, ok.output
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 4"))
        conn.execute(text("UPDATE audit_head SET seq = 3, hash = "
                          "(SELECT hash FROM audit_log WHERE seq = 3)"))
    rewound = runner.invoke(app, ["audit", "verify"])
    assert rewound.exit_code == 1 and "tail was cut" in rewound.output, rewound.output
    _rehash_plain(engine, 1)
    rehashed = runner.invoke(app, ["audit", "verify"])
    assert rehashed.exit_code == 1 and "keyed hash" in rehashed.output


def _old_version_chain(engine: Engine, n: int) -> str:
    """Records as the version before the keyed chain wrote them (plain SHA-256); its head."""
    from warehouse.canonical import canonical_json, sha256_hex

    prev = "0" * 64
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            row = {"seq": seq, "ts": f"2025-01-0{seq}T00:00:00.000000+00:00",
                   "kind": "DECISION" if seq % 2 else "FLAG", "correlation_id": f"K{seq}",
                   "payload": canonical_json({"ticket": f"K{seq}", "decision": "approve"}),
                   "prev_hash": prev}
            row["hash"] = sha256_hex(canonical_json(row))
            conn.execute(text("INSERT INTO audit_log (seq, ts, kind, correlation_id, payload, "
                              "prev_hash, hash) VALUES (:seq, :ts, :kind, :correlation_id, "
                              ":payload, :prev_hash, :hash)"), row)
            prev = row["hash"]
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, :s, :h)"),
                     {"s": n, "h": prev})
    return prev


def test_an_older_versions_chain_verifies_once_sealed_by_its_kept_head(
        tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.cli.main import app

    url = f"sqlite:///{tmp_path}/old.db"
    monkeypatch.setenv("TALLY_DATABASE_URL", url)
    engine = _engine(url)
    head = _old_version_chain(engine, 3)
    log = AuditLog(engine)
    log.append(AuditKind.DECISION, {"ticket": "K4", "decision": "approve"}, "K4")  # upgraded
    before = log.verify()
    assert {p.seq for p in before.problems if "keyed hash" in p.problem} == {1, 2, 3}

    runner = CliRunner()
    wrong = runner.invoke(app, ["audit", "seal-legacy", "--head", "f" * 64, "--by", "ops"])
    assert wrong.exit_code == 1 and "end at record 3" in wrong.output, wrong.output
    sealed = runner.invoke(app, ["audit", "seal-legacy", "--head", head, "--by", "ops"])
    assert sealed.exit_code == 0 and "sealed records 1-3" in sealed.output, sealed.output
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "5 records" in ok.output, ok.output
    assert runner.invoke(app, ["audit", "seal-legacy", "--head", head,
                               "--by", "ops"]).exit_code == 1  # once only

    with engine.begin() as conn:  # an edit in the sealed part is still caught
        conn.execute(text("UPDATE audit_log SET payload = replace(payload, 'approve', "
                          "'reject') WHERE seq = 2"))
    assert {p.seq for p in log.verify().problems} == {2}
    _rehash_plain(engine, 1)  # and so is rewriting it with the plain hash the old format used
    problems = log.verify().problems
    assert any(p.seq == 3 and "legacy seal" in p.problem for p in problems)


def test_plain_records_without_a_seal_never_verify(engine: Engine) -> None:
    _old_version_chain(engine, 3)
    assert not AuditLog(engine).verify().ok
