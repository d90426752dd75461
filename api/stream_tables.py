"""What the workers keep in the store: which events were scored, and the shared scorer fits.

``scored_event`` is the exactly-once ledger of scoring: a row per scored txn_id, written in
the same transaction as the flags it raised, so a re-delivered event finds its row and is a
no-op, and a worker that takes a partition over replays the partition's scored events (in
``id`` order) into its scorer's window. ``scorer_fit`` holds each site's fitted scorer, fitted
by one worker at a time and loaded by the others, so every worker scores with the same one.
"""

from __future__ import annotations

from sqlalchemy import Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel


class ScoredEvent(SQLModel, table=True):
    """One event a worker scored (its flags were queued in the same transaction)."""

    __tablename__ = "scored_event"
    __table_args__ = (Index("ix_scored_event_partition", "site", "partition", "id"),
                      UniqueConstraint("site", "txn_id"))

    id: int | None = Field(default=None, primary_key=True)
    txn_id: str = Field(max_length=200)
    site: str = Field(max_length=64)
    partition: int
    event: str = Field(sa_column=Column(Text, nullable=False),
                       description="the contract event as scored (canonical JSON)")


class ScorerFit(SQLModel, table=True):
    """A site's scorer fitted on the store up to ``fit_seq`` (signed pickle, api.stream.fits)."""

    __tablename__ = "scorer_fit"

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(max_length=64, index=True)
    fit_seq: int = Field(description="the newest transactions.seq the fit saw")
    scored_upto: int = Field(description="the newest scored_event.id when the fit began")
    model: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: str = Field(max_length=40)


class StreamMember(SQLModel, table=True):
    """A running worker of a work queue, as of its last heartbeat (RabbitMQ partition balance)."""

    __tablename__ = "stream_member"

    prefix: str = Field(max_length=200, primary_key=True,
                        description="the work queue's TALLY_STREAM_PREFIX")
    member: str = Field(max_length=64, primary_key=True, description="the worker's random id")
    seen_at: str = Field(max_length=40, description="UTC ISO-8601 of the last heartbeat")
