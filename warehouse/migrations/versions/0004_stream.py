"""The partitioned work queue: the scored-event ledger and the shared scorer fits.

Models: ``api/stream/tables.py`` (``scored_event``, ``scorer_fit``). Each table is created
only when missing, so a database whose tables ``create_all`` already made keeps its rows.

Revision ID: 0004_stream
Revises: 0003_decide
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_stream'
down_revision = '0003_decide'
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if 'scored_event' not in existing:
        op.create_table('scored_event',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('txn_id', sa.String(length=200), nullable=False),
            sa.Column('site', sa.String(length=64), nullable=False),
            sa.Column('partition', sa.Integer(), nullable=False),
            sa.Column('event', sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint('id'),
            sa.UniqueConstraint('txn_id'),
        )
        op.create_index('ix_scored_event_partition', 'scored_event',
                        ['site', 'partition', 'id'], unique=False)
    if 'scorer_fit' not in existing:
        op.create_table('scorer_fit',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('site', sa.String(length=64), nullable=False),
            sa.Column('fit_seq', sa.Integer(), nullable=False),
            sa.Column('scored_upto', sa.Integer(), nullable=False),
            sa.Column('model', sa.LargeBinary(), nullable=False),
            sa.Column('created_at', sa.String(length=40), nullable=False),
            sa.PrimaryKeyConstraint('id'),
        )
        op.create_index(op.f('ix_scorer_fit_site'), 'scorer_fit', ['site'], unique=False)


def downgrade() -> None:
    op.drop_table('scorer_fit')
    op.drop_table('scored_event')
