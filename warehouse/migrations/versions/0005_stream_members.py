"""The work queue's running workers: a heartbeat row each, to share RabbitMQ's partitions.

Model: ``api/stream_tables.py`` (``stream_member``). Created only when missing, so a
database whose tables ``create_all`` already made keeps its rows.

Revision ID: 0005_stream_members
Revises: 0004_stream
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_stream_members'
down_revision = '0004_stream'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if 'stream_member' not in set(sa.inspect(op.get_bind()).get_table_names()):
        op.create_table('stream_member',
            sa.Column('prefix', sa.String(length=200), nullable=False),
            sa.Column('member', sa.String(length=64), nullable=False),
            sa.Column('seen_at', sa.String(length=40), nullable=False),
            sa.PrimaryKeyConstraint('prefix', 'member'),
        )


def downgrade() -> None:
    op.drop_table('stream_member')
