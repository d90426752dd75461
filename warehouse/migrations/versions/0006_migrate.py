"""Scorer fits are stored signed (``api/stream/fits.py``): drop the unsigned ones.

Every ``scorer_fit`` row written before this revision is a bare pickle, which workers now
refuse to load; the fits are derived from the store, so they are deleted and the first
worker to need a site's fit refits it. The column is unchanged.

Revision ID: 0006_migrate
Revises: 0005_stream_members
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_migrate'
down_revision = '0005_stream_members'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM scorer_fit"))


def downgrade() -> None:
    """Nothing to restore: signed fits load only in code that checks their signature."""
