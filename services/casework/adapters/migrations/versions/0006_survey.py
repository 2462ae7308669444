"""利用者アンケート (issue 16): survey rounds and answers

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('survey_rounds',
    sa.Column('round_id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('opens_on', sa.String(length=10), nullable=False),
    sa.Column('closes_on', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('round_id')
    )
    op.create_table('survey_answers',
    sa.Column('round_id', sa.String(length=36), nullable=False),
    sa.Column('respondent', sa.String(length=64), nullable=False),
    sa.Column('ward_code', sa.String(length=8), nullable=True),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('answered_on', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.round_id']),
    sa.PrimaryKeyConstraint('round_id', 'respondent')
    )


def downgrade() -> None:
    op.drop_table('survey_answers')
    op.drop_table('survey_rounds')
