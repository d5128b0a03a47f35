"""Runs keep their parameters (what a replay needs) and the checksum of their release.

Hand-written; matches ``schemas.store.Run`` (checked by tests/load/test_db.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("release_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("release_sha256")
        batch.drop_column("params")
