"""The write path: the ticket's reject reason and the durable write-back outbox.

Models: ``api/tickets.py`` (``ticket.decision_reason``) and ``actions/outbox.py``
(``write_back_outbox``). Like 0002, each change is made only when missing, so a database
whose tables ``create_all`` already made keeps its rows.

Revision ID: 0003_decide
Revises: 0003_countplan
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_decide'
down_revision = '0003_countplan'
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    if 'ticket' in existing and 'decision_reason' not in {
            c['name'] for c in inspector.get_columns('ticket')}:
        op.add_column('ticket', sa.Column('decision_reason', sa.Text(), nullable=True))
    if 'write_back_outbox' not in existing:
        op.create_table('write_back_outbox',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('ticket_id', sa.String(length=128), nullable=False),
            sa.Column('digest', sa.String(length=64), nullable=False),
            sa.Column('round', sa.Integer(), nullable=False),
            sa.Column('decision', sa.Text(), nullable=False),
            sa.Column('status', sa.String(length=16), nullable=False),
            sa.Column('attempts', sa.Integer(), nullable=False),
            sa.Column('claimed_by', sa.String(length=200), nullable=True),
            sa.Column('claimed_at', sa.String(length=40), nullable=True),
            sa.Column('created_at', sa.String(length=40), nullable=False),
            sa.Column('finished_at', sa.String(length=40), nullable=True),
            sa.Column('outcome', sa.String(length=32), nullable=True),
            sa.PrimaryKeyConstraint('id'),
            sa.UniqueConstraint('ticket_id', 'digest', 'round'),
        )
        op.create_index(op.f('ix_write_back_outbox_ticket_id'), 'write_back_outbox',
                        ['ticket_id'], unique=False)
        op.create_index(op.f('ix_write_back_outbox_status'), 'write_back_outbox',
                        ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('write_back_outbox')
    op.drop_column('ticket', 'decision_reason')
