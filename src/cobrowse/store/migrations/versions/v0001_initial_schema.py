"""Initial schema: groups, agents and their groups, sessions, participants.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Generated with Alembic autogenerate from ``cobrowse.store.models`` and tidied by hand. No page content is
stored anywhere: sessions and participants say who took part and when.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=127), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=127), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=127), nullable=False),
        sa.Column("title", sa.String(length=127), nullable=False),
        sa.Column("agentrole", sa.String(length=63), nullable=True),
        sa.Column("partnerid", sa.String(length=127), nullable=True),
        sa.Column("partneruserid", sa.String(length=127), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("username", name=op.f("uq_agents_username")),
    )
    op.create_table(
        "agent_groups",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_groups_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_agent_groups_group_id_groups"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "group_id", name=op.f("pk_agent_groups")),
    )
    op.create_index("ix_agent_groups_group_id", "agent_groups", ["group_id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("random_key", sa.Boolean(), nullable=False),
        sa.Column("visitor_name", sa.String(length=63), nullable=True),
        sa.Column("visitor_email", sa.String(length=127), nullable=True),
        sa.Column("visitor_phone", sa.String(length=31), nullable=True),
        sa.Column("visitorid", sa.String(length=100), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_sessions_group_id_groups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sessions_ended_at", "sessions", ["ended_at"])
    op.create_index("ix_sessions_group_id_key", "sessions", ["group_id", "key"])
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=127), nullable=True),
        sa.Column("email", sa.String(length=127), nullable=True),
        sa.Column("phone", sa.String(length=31), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('visitor', 'agent', 'guest')", name=op.f("ck_participants_role")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_participants_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_participants_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
    )
    op.create_index("ix_participants_agent_id", "participants", ["agent_id"])
    op.create_index("ix_participants_session_id", "participants", ["session_id"])


def downgrade() -> None:
    op.drop_table("participants")
    op.drop_table("sessions")
    op.drop_table("agent_groups")
    op.drop_table("agents")
    op.drop_table("groups")
