"""ward order and held alerts: each source's ward with its own date, the profile version, a listing waiting for a ward

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 18:30:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile_ward_code', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('profile_ward_since', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('profile_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('flags_ward_since', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('pending_alert', sa.JSON(), nullable=True))
    # Until now ward_code held the profile's ward (or the flags' ward while no profile had come): the best
    # guess at the profile's word. Rows whose profile never came get the profile's ward on the next profile.
    op.execute("UPDATE children SET profile_ward_code = ward_code WHERE profile_updated_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_column('pending_alert')
        batch_op.drop_column('flags_ward_since')
        batch_op.drop_column('profile_version')
        batch_op.drop_column('profile_ward_since')
        batch_op.drop_column('profile_ward_code')
