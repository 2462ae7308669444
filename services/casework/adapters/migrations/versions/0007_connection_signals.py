"""行政とのつながり (issue 18): the child's current connection signals, and the signal codes an alert showed when raised

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: a child stored before this revision has no signals on record (shown as such), which
    # is not the same as a child whose flags message said "no signal".
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signals', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('current_signals', sa.JSON(), nullable=True))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signals_at_raise', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('signals_at_raise')
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_column('current_signals')
        batch_op.drop_column('signals')
