"""Retention (issue 15): how many of a child's closed cases the retention purge removed.

The alert policy numbers a child's alerts (the episode in the alert key) and treats a child never alerted as news;
after closed cases are purged (service_layer/retention.py) it counts them from here, so a purge neither re-raises an
old listing nor makes a known child look never alerted. A number only: nothing of the purged cases is kept.

Revision ID: 0011_retention
Revises: 0010_totp_secret_sealed
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_retention'
down_revision: str | None = '0010_totp_secret_sealed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alerts_purged', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_state_changed_at', ['state_changed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_state_changed_at')
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_column('alerts_purged')
