"""Standing household opt-out (issue 15): a guardian's ``opt-out --household`` also covers a child born into or
joining the household later, until withdrawn. ``privacy_opt_outs.via_household`` names the household whose opt-out
covers a child.

Revision ID: 0012_household_opt_out
Revises: 0011_retention
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_household_opt_out'
down_revision: str | None = '0011_retention'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'privacy_household_opt_outs',
        sa.Column('household_id', sa.String(length=64), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('requested_by', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('requested_on', sa.String(length=10), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=36), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('withdrawn_by', sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint('household_id'),
    )
    with op.batch_alter_table('privacy_opt_outs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via_household', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_privacy_opt_outs_via_household', ['via_household'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('privacy_opt_outs', schema=None) as batch_op:
        batch_op.drop_index('ix_privacy_opt_outs_via_household')
        batch_op.drop_column('via_household')
    op.drop_table('privacy_household_opt_outs')
