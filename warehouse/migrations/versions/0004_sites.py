"""Sites: every warehouse row, verdict, undone rule, ingest run, ticket and count plan
carries its site; users may hold a role per site.

Rows stored before this revision belong to the site ``default``. Keys become per site:
items (site, sku), locations (site, location_id), balances (site, sku, location), a
transaction id once per site, item versions (site, sku, version), an undone rule per site.
The tables whose key changes are rebuilt (same on SQLite and PostgreSQL); the others get a
column. Like 0002, a table ``create_all`` already made with the column is left as it is.

Revision ID: 0004_sites
Revises: 0003_decide
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0004_sites'
down_revision = '0003_decide'
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _site() -> sa.Column:
    return sa.Column('site', sa.String(length=64), nullable=False, server_default='default')


def _rebuilt() -> dict[str, tuple[list[Any], list[tuple[str, list[str], bool]]]]:
    """Table -> (columns and constraints with the site, indexes to create after)."""
    return {
        'items': ([
            _site(),
            sa.Column('sku', sa.String(length=128), nullable=False),
            sa.Column('description', sa.Text(), nullable=False),
            sa.Column('gtin', sa.String(length=32), nullable=True),
            sa.Column('category', sa.String(length=128), nullable=True),
            sa.Column('case_qty', sa.Integer(), nullable=False),
            sa.Column('unit_weight_kg', sa.Float(), nullable=True),
            sa.Column('unit_cost', sa.Float(), nullable=True),
            sa.Column('home_location', sa.String(length=128), nullable=True),
            sa.Column('extras', sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint('site', 'sku'),
        ], []),
        'locations': ([
            _site(),
            sa.Column('location_id', sa.String(length=128), nullable=False),
            sa.Column('zone', sa.String(length=64), nullable=False),
            sa.Column('type', sa.String(length=16), nullable=False),
            sa.Column('x_m', sa.Float(), nullable=True),
            sa.Column('y_m', sa.Float(), nullable=True),
            sa.Column('level', sa.Float(), nullable=True),
            sa.Column('max_weight_kg', sa.Float(), nullable=True),
            sa.Column('extras', sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint('site', 'location_id'),
        ], []),
        'transactions': ([
            _site(),
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
            sa.UniqueConstraint('site', 'txn_id', name='uq_transactions_site_txn_id'),
        ], [('ix_transactions_site_seq', ['site', 'seq'], False)]),
        'balances': ([
            _site(),
            sa.Column('sku', sa.String(length=128), nullable=False),
            sa.Column('location', sa.String(length=128), nullable=False),
            sa.Column('qty', sa.Float(), nullable=False),
            sa.Column('last_seq', sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint('site', 'sku', 'location'),
        ], []),
        'item_versions': ([
            _site(),
            sa.Column('id', KEY, autoincrement=True, nullable=False),
            sa.Column('sku', sa.String(length=128), nullable=False),
            sa.Column('version', sa.Integer(), nullable=False),
            sa.Column('effective_at', sa.DateTime(timezone=True), nullable=True),
            sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('case_qty', sa.Integer(), nullable=False),
            sa.Column('unit_weight_kg', sa.Float(), nullable=True),
            sa.Column('source', sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint('id'),
        ], [('ix_item_versions_site_sku_version', ['site', 'sku', 'version'], True)]),
        'learning_undo': ([
            _site(),
            sa.Column('rule_id', sa.String(length=32), nullable=False),
            sa.Column('pattern', sa.Text(), nullable=False),
            sa.Column('undone_by', sa.String(length=128), nullable=False),
            sa.Column('undone_at', sa.String(length=40), nullable=False),
            sa.Column('reason', sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint('site', 'rule_id'),
        ], []),
    }


ADDED: dict[str, list[tuple[str, list[str]]]] = {
    'balance_history': [('ix_balance_history_site_key', ['site', 'sku', 'location', 'id'])],
    'ingest_runs': [],
    'resolutions': [('ix_resolutions_site', ['site'])],
    'ticket': [('ix_ticket_site', ['site'])],
    'count_plan': [('ix_count_plan_site', ['site'])],
}
"""Tables that only gain the column (and these indexes)."""


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for table, (items, rebuilt_indexes) in _rebuilt().items():
        if 'site' in {c['name'] for c in inspector.get_columns(table)}:
            continue
        names = [c.name for c in items if isinstance(c, sa.Column) and c.name != 'site']
        op.create_table(f'{table}_sites', *items)
        op.execute(f"INSERT INTO {table}_sites ({', '.join(names)}) "
                   f"SELECT {', '.join(names)} FROM {table}")
        op.drop_table(table)
        op.rename_table(f'{table}_sites', table)
        for name, columns, unique in rebuilt_indexes:
            op.create_index(name, table, columns, unique=unique)
        if table == 'item_versions' and op.get_bind().dialect.name == 'postgresql':
            op.execute("SELECT setval(pg_get_serial_sequence('item_versions', 'id'), "
                       "COALESCE(MAX(id), 0) + 1, false) FROM item_versions")
    for table, indexes in ADDED.items():
        if table not in existing:
            continue
        if 'site' not in {c['name'] for c in inspector.get_columns(table)}:
            with op.batch_alter_table(table) as batch:
                batch.add_column(_site())
        have = {i['name'] for i in inspector.get_indexes(table)}
        for name, columns in indexes:
            if name not in have:
                op.create_index(name, table, columns, unique=False)
    if 'ix_balance_history_key' in {i['name'] for i in inspector.get_indexes('balance_history')}:
        op.drop_index('ix_balance_history_key', table_name='balance_history')
    if 'user_site_role' not in existing:
        op.create_table('user_site_role',
            sa.Column('user_id', sa.Integer(), nullable=False),
            sa.Column('site', sa.String(length=64), nullable=False),
            sa.Column('role', sa.String(length=16), nullable=False),
            sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
            sa.PrimaryKeyConstraint('user_id', 'site'),
        )


def downgrade() -> None:
    raise NotImplementedError("0004_sites keeps several sites' rows apart: it cannot be undone "
                              "without losing all but one site")
