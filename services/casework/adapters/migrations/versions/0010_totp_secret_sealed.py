"""TOTP secrets encrypted at rest (issue 13): users.totp_secret widened from 64 to 255 characters for the sealed
form ``v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`` (92 characters for a 32-character secret).

Existing unencrypted secrets stay as they are here (a migration has no key): the next successful login seals each
one, and ``cli rotate-totp-key`` seals all of them at once (docs/security.md).

Revision ID: 0010_totp_secret_sealed
Revises: 0009_evaluation_reports
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_totp_secret_sealed'
down_revision: str | None = '0009_evaluation_reports'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=255),
                              existing_nullable=True)


def downgrade() -> None:
    # Sealed values do not fit in 64 characters: remove the second factors (enrol again after the downgrade).
    op.execute("UPDATE users SET totp_secret = NULL, totp_last_step = NULL WHERE length(totp_secret) > 64")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255), type_=sa.String(length=64),
                              existing_nullable=True)
