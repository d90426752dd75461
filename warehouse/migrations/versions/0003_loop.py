"""The site's verdicts (resolutions, CONTRACT.md section 6) and undone learned rules.

Revision ID: 0003_loop
Revises: 0003_tickets
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_loop'
down_revision = '0003_tickets'
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if 'resolutions' not in existing:
        op.create_table('resolutions',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('txn_ids', sa.Text(), nullable=False),
            sa.Column('verdict', sa.String(length=16), nullable=False),
            sa.Column('root_cause', sa.String(length=32), nullable=True),
            sa.Column('action', sa.String(length=32), nullable=True),
            sa.Column('decided_at', sa.String(length=40), nullable=True),
            sa.Column('decided_by', sa.String(length=128), nullable=True),
            sa.Column('ticket_id', sa.String(length=128), nullable=True),
            sa.Column('note', sa.Text(), nullable=True),
            sa.Column('source', sa.String(length=32), nullable=False),
            sa.Column('recorded_at', sa.String(length=40), nullable=False),
            sa.PrimaryKeyConstraint('id'),
        )
        op.create_index(op.f('ix_resolutions_decided_by'), 'resolutions', ['decided_by'])
        op.create_index(op.f('ix_resolutions_ticket_id'), 'resolutions', ['ticket_id'])
    if 'learning_undo' not in existing:
        op.create_table('learning_undo',
            sa.Column('rule_id', sa.String(length=32), nullable=False),
            sa.Column('pattern', sa.Text(), nullable=False),
            sa.Column('undone_by', sa.String(length=128), nullable=False),
            sa.Column('undone_at', sa.String(length=40), nullable=False),
            sa.Column('reason', sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint('rule_id'),
        )


def downgrade() -> None:
    op.drop_table('learning_undo')
    op.drop_index(op.f('ix_resolutions_ticket_id'), table_name='resolutions')
    op.drop_index(op.f('ix_resolutions_decided_by'), table_name='resolutions')
    op.drop_table('resolutions')
