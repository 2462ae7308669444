"""privacy (issue 15): key register, extract register and subjects, opt-outs, deletions

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('privacy_keys',
    sa.Column('key_id', sa.String(length=36), nullable=False),
    sa.Column('key_hex', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('destroyed_by', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('key_id')
    )
    op.create_table('privacy_extracts',
    sa.Column('extract_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('created_by_role', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('period_from', sa.String(length=10), nullable=False),
    sa.Column('period_to', sa.String(length=10), nullable=False),
    sa.Column('key_id', sa.String(length=36), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('row_counts', sa.JSON(), nullable=False),
    sa.Column('k_report', sa.JSON(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=True),
    sa.Column('deletion_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['key_id'], ['privacy_keys.key_id']),
    sa.PrimaryKeyConstraint('extract_id')
    )
    with op.batch_alter_table('privacy_extracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_extracts_created_at'), ['created_at'], unique=False)
    op.create_table('privacy_extract_subjects',
    sa.Column('extract_id', sa.String(length=36), nullable=False),
    sa.Column('pseudonym', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['extract_id'], ['privacy_extracts.extract_id']),
    sa.PrimaryKeyConstraint('extract_id', 'pseudonym')
    )
    op.create_table('privacy_opt_outs',
    sa.Column('child_id', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('requested_by', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('requested_on', sa.String(length=10), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=36), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('child_id')
    )
    op.create_table('privacy_deletions',
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('subject_hash', sa.String(length=64), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_by', sa.String(length=36), nullable=False),
    sa.Column('removed', sa.JSON(), nullable=False),
    sa.Column('extracts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('request_id')
    )
    with op.batch_alter_table('privacy_deletions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_deletions_subject_hash'), ['subject_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('privacy_deletions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_deletions_subject_hash'))
    op.drop_table('privacy_deletions')
    op.drop_table('privacy_opt_outs')
    op.drop_table('privacy_extract_subjects')
    with op.batch_alter_table('privacy_extracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_extracts_created_at'))
    op.drop_table('privacy_extracts')
    op.drop_table('privacy_keys')
