"""Service tables: users and API keys, audit chain, pending work, tickets, ticket chat.

Their models live in api/ and actions/audit.py. Databases created before this revision
may already hold these tables (made by ``create_all``): each is created only when missing,
so upgrading such a database keeps its rows.

Revision ID: 0002_service
Revises: 0001_warehouse
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_service'
down_revision = '0001_warehouse'
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if 'app_user' not in existing:
        op.create_table('app_user',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('name', sa.String(length=64), nullable=False),
            sa.Column('role', sa.String(length=16), nullable=False),
            sa.Column('created_at', sa.String(length=40), nullable=False),
            sa.Column('active', sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint('id')
        )
        op.create_index(op.f('ix_app_user_name'), 'app_user', ['name'], unique=True)
    if 'api_key' not in existing:
        op.create_table('api_key',
            sa.Column('key_id', sa.String(length=12), nullable=False),
            sa.Column('user_id', sa.Integer(), nullable=False),
            sa.Column('key_hash', sa.String(length=64), nullable=False),
            sa.Column('created_at', sa.String(length=40), nullable=False),
            sa.Column('revoked_at', sa.String(length=40), nullable=True),
            sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
            sa.PrimaryKeyConstraint('key_id')
        )
        op.create_index(op.f('ix_api_key_user_id'), 'api_key', ['user_id'], unique=False)
    if 'audit_log' not in existing:
        op.create_table('audit_log',
            sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
            sa.Column('ts', sa.String(length=40), nullable=False),
            sa.Column('kind', sa.String(length=32), nullable=False),
            sa.Column('correlation_id', sa.String(length=200), nullable=True),
            sa.Column('payload', sa.Text(), nullable=False),
            sa.Column('prev_hash', sa.String(length=64), nullable=False),
            sa.Column('hash', sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint('seq')
        )
        op.create_index(op.f('ix_audit_log_correlation_id'),
            'audit_log', ['correlation_id'], unique=False)
        op.create_index(op.f('ix_audit_log_kind'), 'audit_log', ['kind'], unique=False)
    if 'audit_head' not in existing:
        op.create_table('audit_head',
            sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
            sa.Column('seq', sa.Integer(), nullable=False),
            sa.Column('hash', sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint('id')
        )
    if 'pending_work' not in existing:
        op.create_table('pending_work',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('kind', sa.String(length=32), nullable=False),
            sa.Column('dedup_key', sa.String(length=200), nullable=False),
            sa.Column('correlation_id', sa.String(length=200), nullable=True),
            sa.Column('payload', sa.Text(), nullable=False),
            sa.Column('status', sa.String(length=16), nullable=False),
            sa.Column('attempts', sa.Integer(), nullable=False),
            sa.Column('created_at', sa.String(length=40), nullable=False),
            sa.Column('claimed_at', sa.String(length=40), nullable=True),
            sa.Column('finished_at', sa.String(length=40), nullable=True),
            sa.Column('last_error', sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint('id'),
            sa.UniqueConstraint('dedup_key')
        )
        op.create_index(op.f('ix_pending_work_correlation_id'),
            'pending_work', ['correlation_id'], unique=False)
        op.create_index(op.f('ix_pending_work_kind'), 'pending_work', ['kind'], unique=False)
        op.create_index(op.f('ix_pending_work_status'), 'pending_work', ['status'], unique=False)
    if 'ticket' not in existing:
        op.create_table('ticket',
            sa.Column('ticket_id', sa.String(length=128), nullable=False),
            sa.Column('txn_ids', sa.JSON(), nullable=False),
            sa.Column('sku', sa.String(length=128), nullable=True),
            sa.Column('location', sa.String(length=128), nullable=True),
            sa.Column('risk_score', sa.Float(), nullable=False),
            sa.Column('severity', sa.String(length=16), nullable=False),
            sa.Column('severity_rank', sa.Integer(), nullable=False),
            sa.Column('root_cause', sa.String(length=32), nullable=False),
            sa.Column('confidence', sa.Float(), nullable=False),
            sa.Column('summary', sa.Text(), nullable=False),
            sa.Column('explanation', sa.Text(), nullable=False),
            sa.Column('evidence', sa.JSON(), nullable=False),
            sa.Column('action', sa.JSON(), nullable=False),
            sa.Column('proposed_action', sa.JSON(), nullable=False),
            sa.Column('action_digest', sa.String(length=64), nullable=False),
            sa.Column('edited_by', sa.String(length=64), nullable=True),
            sa.Column('unit_cost', sa.Float(), nullable=True),
            sa.Column('status', sa.String(length=32), nullable=False),
            sa.Column('created_at', sa.String(length=40), nullable=False),
            sa.Column('decided_at', sa.String(length=40), nullable=True),
            sa.Column('decided_by', sa.String(length=64), nullable=True),
            sa.Column('write_back_status', sa.String(length=32), nullable=True),
            sa.Column('write_back_key', sa.String(length=200), nullable=True),
            sa.Column('wms_reference', sa.String(length=128), nullable=True),
            sa.Column('write_back_detail', sa.Text(), nullable=True),
            sa.Column('write_back_attempts', sa.Integer(), nullable=False),
            sa.Column('extra', sa.JSON(), nullable=False),
            sa.Column('version', sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint('ticket_id')
        )
        op.create_index(op.f('ix_ticket_created_at'), 'ticket', ['created_at'], unique=False)
        op.create_index(op.f('ix_ticket_location'), 'ticket', ['location'], unique=False)
        op.create_index(op.f('ix_ticket_root_cause'), 'ticket', ['root_cause'], unique=False)
        op.create_index(op.f('ix_ticket_severity'), 'ticket', ['severity'], unique=False)
        op.create_index(op.f('ix_ticket_severity_rank'), 'ticket', ['severity_rank'], unique=False)
        op.create_index(op.f('ix_ticket_sku'), 'ticket', ['sku'], unique=False)
        op.create_index(op.f('ix_ticket_status'), 'ticket', ['status'], unique=False)
    if 'ticket_event' not in existing:
        op.create_table('ticket_event',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('ticket_id', sa.String(length=128), nullable=False),
            sa.Column('ts', sa.String(length=40), nullable=False),
            sa.Column('actor', sa.String(length=64), nullable=False),
            sa.Column('kind', sa.String(length=32), nullable=False),
            sa.Column('detail', sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(['ticket_id'], ['ticket.ticket_id'], ),
            sa.PrimaryKeyConstraint('id')
        )
        op.create_index(op.f('ix_ticket_event_ticket_id'),
            'ticket_event', ['ticket_id'], unique=False)
    if 'ticket_approval' not in existing:
        op.create_table('ticket_approval',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('ticket_id', sa.String(length=128), nullable=False),
            sa.Column('approver', sa.String(length=64), nullable=False),
            sa.Column('role', sa.String(length=16), nullable=False),
            sa.Column('digest', sa.String(length=64), nullable=False),
            sa.Column('ts', sa.String(length=40), nullable=False),
            sa.Column('comment', sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(['ticket_id'], ['ticket.ticket_id'], ),
            sa.PrimaryKeyConstraint('id'),
            sa.UniqueConstraint('ticket_id', 'approver', 'digest')
        )
        op.create_index(op.f('ix_ticket_approval_ticket_id'),
            'ticket_approval', ['ticket_id'], unique=False)
    if 'chat_message' not in existing:
        op.create_table('chat_message',
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('ticket_id', sa.String(length=128), nullable=False),
            sa.Column('role', sa.String(length=16), nullable=False),
            sa.Column('author', sa.String(length=64), nullable=False),
            sa.Column('content', sa.Text(), nullable=False),
            sa.Column('kind', sa.String(length=32), nullable=False),
            sa.Column('cited', sa.JSON(), nullable=False),
            sa.Column('ts', sa.String(length=40), nullable=False),
            sa.ForeignKeyConstraint(['ticket_id'], ['ticket.ticket_id'], ),
            sa.PrimaryKeyConstraint('id')
        )
        op.create_index(op.f('ix_chat_message_ticket_id'), 'chat_message', ['ticket_id'],
            unique=False)


def downgrade() -> None:
    op.drop_table('chat_message')
    op.drop_table('ticket_approval')
    op.drop_table('ticket_event')
    op.drop_table('ticket')
    op.drop_table('pending_work')
    op.drop_table('audit_head')
    op.drop_table('audit_log')
    op.drop_table('api_key')
    op.drop_table('app_user')
