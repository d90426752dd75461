"""The partitioned work queue: the scored-event ledger, the shared scorer fits, work by site.

Models: ``api/stream_tables.py`` (``scored_event``, ``scorer_fit``) and ``api/worker.py``
(``pending_work.site``). Each table is created
only when missing, so a database whose tables ``create_all`` already made keeps its rows.

Revision ID: 0004_stream
Revises: 0004_sites
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_stream'
down_revision = '0004_sites'
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    if 'pending_work' in existing and 'site' not in {
            c['name'] for c in inspector.get_columns('pending_work')}:
        op.add_column('pending_work', sa.Column('site', sa.String(length=64), nullable=False,
                                                server_default='default'))
        op.create_index(op.f('ix_pending_work_site'), 'pending_work', ['site'], unique=False)
    if 'scored_event' not in existing:
        op.create_table('scored_event',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('txn_id', sa.String(length=200), nullable=False),
            sa.Column('site', sa.String(length=64), nullable=False),
            sa.Column('partition', sa.Integer(), nullable=False),
            sa.Column('event', sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint('id'),
            sa.UniqueConstraint('site', 'txn_id'),
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
    op.drop_index(op.f('ix_pending_work_site'), table_name='pending_work')
    op.drop_column('pending_work', 'site')
