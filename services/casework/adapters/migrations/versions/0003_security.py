"""security (issue 13): alert snapshots at raising, login throttling, TOTP and password-change fields

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_kanji_at_raise', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('name_kana_at_raise', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('birth_date_at_raise', sa.String(length=10), nullable=True))
    # Alerts raised before this revision: the best record of what they showed is the child's data now.
    for column, source in (("name_kanji_at_raise", "name_kanji"), ("name_kana_at_raise", "name_kana"),
                           ("birth_date_at_raise", "birth_date")):
        op.execute(sa.text(f"UPDATE alerts SET {column} = "  # noqa: S608 - fixed column names
                           f"(SELECT c.{source} FROM children c WHERE c.child_id = alerts.child_id)"))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttle_updated_at'), ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttle_updated_at'))
    op.drop_table('login_throttle')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('totp_secret')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('birth_date_at_raise')
        batch_op.drop_column('name_kana_at_raise')
        batch_op.drop_column('name_kanji_at_raise')
