"""Warehouse tables: items, locations, transactions, balances, balance history, ingest runs.

Revision ID: 0001_warehouse
Revises: None
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001_warehouse'
down_revision = None
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('items',
        sa.Column('sku', sa.String(length=128), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('gtin', sa.String(length=32), nullable=True),
        sa.Column('category', sa.String(length=128), nullable=True),
        sa.Column('case_qty', sa.Integer(), nullable=False),
        sa.Column('unit_weight_kg', sa.Float(), nullable=True),
        sa.Column('unit_cost', sa.Float(), nullable=True),
        sa.Column('home_location', sa.String(length=128), nullable=True),
        sa.Column('extras', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('sku')
    )
    op.create_table('locations',
        sa.Column('location_id', sa.String(length=128), nullable=False),
        sa.Column('zone', sa.String(length=64), nullable=False),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('x_m', sa.Float(), nullable=True),
        sa.Column('y_m', sa.Float(), nullable=True),
        sa.Column('level', sa.Float(), nullable=True),
        sa.Column('max_weight_kg', sa.Float(), nullable=True),
        sa.Column('extras', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('location_id')
    )
    op.create_table('transactions',
        sa.Column('seq', KEY, autoincrement=False, nullable=False),
        sa.Column('txn_id', sa.String(length=128), nullable=False),
        sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('sku', sa.String(length=128), nullable=False),
        sa.Column('qty', sa.Float(), nullable=False),
        sa.Column('uom', sa.String(length=2), nullable=False),
        sa.Column('location', sa.String(length=128), nullable=False),
        sa.Column('to_location', sa.String(length=128), nullable=True),
        sa.Column('user_id', sa.String(length=128), nullable=False),
        sa.Column('device_id', sa.String(length=128), nullable=True),
        sa.Column('weight_kg', sa.Float(), nullable=True),
        sa.Column('expected_qty', sa.Float(), nullable=True),
        sa.Column('reason_code', sa.String(length=64), nullable=True),
        sa.Column('ref', sa.String(length=128), nullable=True),
        sa.Column('lot', sa.String(length=128), nullable=True),
        sa.Column('expiry', sa.String(length=32), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('eaches', sa.Float(), nullable=True),
        sa.Column('extras', sa.Text(), nullable=True),
        sa.Column('ingest_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('txn_id')
    )
    op.create_table('balances',
        sa.Column('sku', sa.String(length=128), nullable=False),
        sa.Column('location', sa.String(length=128), nullable=False),
        sa.Column('qty', sa.Float(), nullable=False),
        sa.Column('last_seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('sku', 'location')
    )
    op.create_table('balance_history',
        sa.Column('id', KEY, autoincrement=False, nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('sku', sa.String(length=128), nullable=False),
        sa.Column('location', sa.String(length=128), nullable=False),
        sa.Column('delta', sa.Float(), nullable=False),
        sa.Column('balance_after', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_balance_history_key',
        'balance_history', ['sku', 'location', 'id'], unique=False)
    op.create_table('ingest_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('rows_read', sa.Integer(), nullable=False),
        sa.Column('rows_loaded', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.Column('redelivered', sa.Integer(), nullable=False),
        sa.Column('rejected_by_reason', sa.Text(), nullable=False),
        sa.Column('warnings', sa.Text(), nullable=False),
        sa.Column('rejects_path', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('ingest_runs')
    op.drop_table('balance_history')
    op.drop_table('balances')
    op.drop_table('transactions')
    op.drop_table('locations')
    op.drop_table('items')
