"""Ticket money and systemic tickets (contract section 5): value_at_risk, kind, parent, children.

Existing tickets read as incidents with no money known (0) and no parent.

Revision ID: 0003_tickets
Revises: 0002_service
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_tickets'
down_revision = '0002_service'
branch_labels = None
depends_on = None


COLUMNS = (
    sa.Column('value_at_risk', sa.Float(), nullable=False, server_default='0'),
    sa.Column('kind', sa.String(length=16), nullable=False, server_default='incident'),
    sa.Column('parent_ticket_id', sa.String(length=128), nullable=True),
    sa.Column('child_count', sa.Integer(), nullable=False, server_default='0'),
)
INDEXED = ('value_at_risk', 'kind', 'parent_ticket_id')


def upgrade() -> None:
    # a ticket table made by create_all from the current models already has the columns
    inspector = sa.inspect(op.get_bind())
    have = {c['name'] for c in inspector.get_columns('ticket')}
    indexes = {i['name'] for i in inspector.get_indexes('ticket')}
    missing = [c for c in COLUMNS if c.name not in have]
    if missing:
        with op.batch_alter_table('ticket') as batch:
            for column in missing:
                batch.add_column(column)
    for name in INDEXED:
        if op.f(f'ix_ticket_{name}') not in indexes:
            op.create_index(op.f(f'ix_ticket_{name}'), 'ticket', [name], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ticket_parent_ticket_id'), table_name='ticket')
    op.drop_index(op.f('ix_ticket_kind'), table_name='ticket')
    op.drop_index(op.f('ix_ticket_value_at_risk'), table_name='ticket')
    with op.batch_alter_table('ticket') as batch:
        batch.drop_column('child_count')
        batch.drop_column('parent_ticket_id')
        batch.drop_column('kind')
        batch.drop_column('value_at_risk')
