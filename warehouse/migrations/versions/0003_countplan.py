"""Item-master versions (warehouse) and approved count plans with their tasks (service).

``item_versions`` starts with version 1 of every item already stored (in force from the
start of the record). The count-plan tables' models live in ``api/count_plans.py``.

Revision ID: 0003_countplan
Revises: 0003_loop
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_countplan'
down_revision = '0003_loop'
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('item_versions',
        sa.Column('id', KEY, autoincrement=True, nullable=False),
        sa.Column('sku', sa.String(length=128), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('effective_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('case_qty', sa.Integer(), nullable=False),
        sa.Column('unit_weight_kg', sa.Float(), nullable=True),
        sa.Column('source', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_item_versions_sku_version', 'item_versions', ['sku', 'version'],
                    unique=True)
    op.execute("INSERT INTO item_versions (sku, version, effective_at, recorded_at, case_qty, "
               "unit_weight_kg, source) SELECT sku, 1, NULL, CURRENT_TIMESTAMP, case_qty, "
               "unit_weight_kg, 'item master before versions were kept' FROM items")
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if 'count_plan' not in existing:
        op.create_table('count_plan',
            sa.Column('plan_id', sa.String(length=40), nullable=False),
            sa.Column('digest', sa.String(length=64), nullable=False),
            sa.Column('top', sa.Integer(), nullable=False),
            sa.Column('approved_by', sa.String(length=64), nullable=False),
            sa.Column('approved_at', sa.String(length=40), nullable=False),
            sa.Column('comment', sa.Text(), nullable=False),
            sa.Column('lines', sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint('plan_id'),
            sa.UniqueConstraint('digest')
        )
    if 'count_task' not in existing:
        op.create_table('count_task',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('plan_id', sa.String(length=40), nullable=False),
            sa.Column('rank', sa.Integer(), nullable=False),
            sa.Column('location', sa.String(length=128), nullable=False),
            sa.Column('sku', sa.String(length=128), nullable=True),
            sa.Column('idempotency_key', sa.String(length=200), nullable=False),
            sa.Column('status', sa.String(length=32), nullable=False),
            sa.Column('attempts', sa.Integer(), nullable=False),
            sa.Column('wms_reference', sa.String(length=64), nullable=True),
            sa.Column('detail', sa.Text(), nullable=True),
            sa.ForeignKeyConstraint(['plan_id'], ['count_plan.plan_id'], ),
            sa.PrimaryKeyConstraint('id'),
            sa.UniqueConstraint('idempotency_key')
        )
        op.create_index(op.f('ix_count_task_plan_id'), 'count_task', ['plan_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_count_task_plan_id'), table_name='count_task')
    op.drop_table('count_task')
    op.drop_table('count_plan')
    op.drop_index('ix_item_versions_sku_version', table_name='item_versions')
    op.drop_table('item_versions')
