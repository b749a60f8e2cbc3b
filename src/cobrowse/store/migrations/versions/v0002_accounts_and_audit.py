"""Accounts and audit: group settings, agent permissions, API tokens, SSO secrets, used login keys, audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Existing agents keep working: they get the default permissions (everything but ``admin``, which stays
``is_admin``). Existing groups allow any origin and no role mixing, have no session limit and no SSO secret.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_PERMISSIONS_SQL = '["view", "remote_control", "video", "documents", "invite_guests"]'


def upgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("allowed_origins", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(
            sa.Column("allow_mixed_roles", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("max_live_sessions", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("trusted_domains", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("sso_secret", sa.String(length=128), nullable=True))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("permissions", sa.JSON(), server_default=DEFAULT_PERMISSIONS_SQL, nullable=False)
        )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=127), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_api_tokens_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_agent_id", "api_tokens", ["agent_id"])
    op.create_table(
        "used_login_keys",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_used_login_keys")),
    )
    op.create_index("ix_used_login_keys_expires_at", "used_login_keys", ["expires_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=127), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_audit_log_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_group_id", "audit_log", ["group_id"])
    op.create_index("ix_audit_log_session_id", "audit_log", ["session_id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("used_login_keys")
    op.drop_table("api_tokens")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("permissions")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("sso_secret")
        batch.drop_column("trusted_domains")
        batch.drop_column("max_live_sessions")
        batch.drop_column("allow_mixed_roles")
        batch.drop_column("allowed_origins")
