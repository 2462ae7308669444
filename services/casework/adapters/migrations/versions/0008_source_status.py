"""データの鮮度 (issue 17): the newest freshness report per source system, from ingest.source_status.v1

Revision ID: 0008_source_status
Revises: 0007
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_source_status'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'source_status',
        sa.Column('system', sa.String(length=40), nullable=False),
        sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('events_24h', sa.Integer(), nullable=False),
        sa.Column('counted_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('silence_allowed_s', sa.Integer(), nullable=True),
        sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('system'),
    )


def downgrade() -> None:
    op.drop_table('source_status')
