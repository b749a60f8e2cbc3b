"""Session continuity: what a restarted server needs to continue a live session.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

``sessions.continuity`` (JSON, null until first written) holds the recording's epoch and sequence at the last
snapshot, the page's URL and title, the user state and whether remote control is on. Never page content.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("continuity", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("continuity")
