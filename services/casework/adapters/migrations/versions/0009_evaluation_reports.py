"""報告書 (issue 16): evaluation's weekly and period reports from evaluation.reports.v1, for HQ to download

Revision ID: 0009_evaluation_reports
Revises: 0008_source_status
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_evaluation_reports'
down_revision: str | None = '0008_source_status'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'evaluation_reports',
        sa.Column('report_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('period_label', sa.String(length=64), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('format', sa.String(length=8), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('report_id'),
    )
    op.create_index('ix_evaluation_reports_generated_at', 'evaluation_reports', ['generated_at'])


def downgrade() -> None:
    op.drop_index('ix_evaluation_reports_generated_at', table_name='evaluation_reports')
    op.drop_table('evaluation_reports')
