"""The site's verdicts and the learned rules an admin undid, as the store keeps them.

``resolutions`` holds every verdict (imported resolution logs, ``POST /v1/resolutions``, and
the service's own approvals and rejections), notes included as plain data. ``learning_undo``
holds the learned rules an admin undid: a rule id there stays off however many verdicts
later support its pattern, until the undo is itself withdrawn (``tally learning redo``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, Engine, Text, delete, insert, select
from sqlmodel import Field, SQLModel

from warehouse.contract import Resolution
from warehouse.sites import DEFAULT_SITE, site_column


class ResolutionRow(SQLModel, table=True):
    """One verdict on some transactions (CONTRACT.md section 6), with where it came from."""

    __tablename__ = "resolutions"

    site: str = Field(default=DEFAULT_SITE, sa_column=site_column(index=True))
    id: int | None = Field(default=None, primary_key=True)
    txn_ids: str = Field(sa_column=Column(Text, nullable=False), description="space-separated")
    verdict: str = Field(max_length=16)
    root_cause: str | None = Field(default=None, max_length=32)
    action: str | None = Field(default=None, max_length=32)
    decided_at: str | None = Field(default=None, max_length=40)
    decided_by: str | None = Field(default=None, max_length=128, index=True)
    ticket_id: str | None = Field(default=None, max_length=128, index=True)
    note: str | None = Field(default=None, sa_column=Column(Text))
    source: str = Field(max_length=32, description="import, api or decision")
    recorded_at: str = Field(max_length=40)


class LearningUndoRow(SQLModel, table=True):
    """A learned rule an admin switched off."""

    __tablename__ = "learning_undo"

    site: str = Field(default=DEFAULT_SITE, sa_column=site_column(primary_key=True))
    rule_id: str = Field(primary_key=True, max_length=32)
    pattern: str = Field(sa_column=Column(Text, nullable=False))
    undone_by: str = Field(max_length=128)
    undone_at: str = Field(max_length=40)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))


VERDICT_TABLES = [ResolutionRow.__table__, LearningUndoRow.__table__]  # type: ignore[attr-defined]
_RES = ResolutionRow.__table__  # type: ignore[attr-defined]
_UNDO = LearningUndoRow.__table__  # type: ignore[attr-defined]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def add_resolutions(engine: Engine, resolutions: Sequence[Resolution], *, source: str,
                    site: str = DEFAULT_SITE) -> int:
    """Store verdicts of ``site``; returns how many."""
    if not resolutions:
        return 0
    now = _now()
    rows = [{**r.model_dump(mode="json"), "txn_ids": " ".join(r.txn_ids), "source": source,
             "recorded_at": now, "site": site} for r in resolutions]
    with engine.begin() as conn:
        conn.execute(insert(_RES), rows)
    return len(rows)


def stored_resolutions(engine: Engine, *, exclude_source: str | None = None,
                       site: str = DEFAULT_SITE) -> list[Resolution]:
    """Every verdict stored at ``site`` in the order recorded (optionally without a source's)."""
    query = select(_RES).where(_RES.c.site == site).order_by(_RES.c.id)
    if exclude_source is not None:
        query = query.where(_RES.c.source != exclude_source)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [Resolution(txn_ids=r["txn_ids"].split(), verdict=r["verdict"],
                       root_cause=r["root_cause"], action=r["action"],
                       decided_at=r["decided_at"], note=r["note"],
                       decided_by=r["decided_by"], ticket_id=r["ticket_id"]) for r in rows]


def undo_rule(engine: Engine, *, rule_id: str, pattern: str, by: str, reason: str = "",
              site: str = DEFAULT_SITE) -> bool:
    """Switch a learned rule off at ``site``; False when it was already off."""
    with engine.begin() as conn:
        if conn.execute(select(_UNDO.c.rule_id).where(_UNDO.c.site == site,
                                                      _UNDO.c.rule_id == rule_id)).first():
            return False
        conn.execute(insert(_UNDO).values(site=site, rule_id=rule_id, pattern=pattern,
                                          undone_by=by, undone_at=_now(), reason=reason))
    return True


def redo_rule(engine: Engine, *, rule_id: str, site: str = DEFAULT_SITE) -> bool:
    """Withdraw an undo at ``site`` (the rule applies again if the verdicts support it)."""
    with engine.begin() as conn:
        return conn.execute(delete(_UNDO).where(_UNDO.c.site == site,
                                                _UNDO.c.rule_id == rule_id)).rowcount > 0


def undone_rules(engine: Engine, *, site: str = DEFAULT_SITE) -> dict[str, dict[str, str]]:
    """Rule id -> who undid it at ``site``, when and why."""
    with engine.connect() as conn:
        rows = conn.execute(select(_UNDO).where(_UNDO.c.site == site)).mappings().all()
    return {r["rule_id"]: {"pattern": r["pattern"], "undone_by": r["undone_by"],
                           "undone_at": r["undone_at"], "reason": r["reason"]} for r in rows}
