"""Disclosure requests over Kafka (issue 15): casework asks linkage and scoring what they hold about a child
(privacy.disclosures.v1) and keeps their answers (privacy.disclosure_replies.v1) for the report.

Revision ID: 0013_disclosure_requests
Revises: 0012_household_opt_out
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_disclosure_requests'
down_revision: str | None = '0012_household_opt_out'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'privacy_disclosure_requests',
        sa.Column('request_id', sa.String(length=36), nullable=False),
        sa.Column('child_id', sa.String(length=64), nullable=False),
        sa.Column('request_ref', sa.String(length=64), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('requested_by', sa.String(length=36), nullable=False),
        sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('services', sa.JSON(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('request_id'),
    )
    op.create_index('ix_privacy_disclosure_requests_child_id', 'privacy_disclosure_requests', ['child_id'])
    op.create_index('ix_privacy_disclosure_requests_requested_at', 'privacy_disclosure_requests', ['requested_at'])
    op.create_table(
        'privacy_disclosure_replies',
        sa.Column('request_id', sa.String(length=36), nullable=False),
        sa.Column('service', sa.String(length=16), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('held', sa.Boolean(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['privacy_disclosure_requests.request_id']),
        sa.PrimaryKeyConstraint('request_id', 'service'),
    )


def downgrade() -> None:
    op.drop_table('privacy_disclosure_replies')
    op.drop_index('ix_privacy_disclosure_requests_requested_at', table_name='privacy_disclosure_requests')
    op.drop_index('ix_privacy_disclosure_requests_child_id', table_name='privacy_disclosure_requests')
    op.drop_table('privacy_disclosure_requests')
