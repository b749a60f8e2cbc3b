"""The database schema as typed SQLAlchemy ORM models; only :mod:`cobrowse.store` ever touches them.

The schema holds who took part in which session and when, never what a page showed. Column lengths follow the
visitor API (name 63, email 127, phone 31, keys 100) so that every database enforces the same limits. Every
datetime is stored in UTC and handed back timezone-aware (:class:`UTCDateTime`), also on SQLite, which has no
timezone support of its own. Migrations in ``migrations/versions`` must produce exactly this schema; a test
compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names: Alembic needs them to alter constraints later (and SQLite batch mode).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Permissions an agent gets unless told otherwise (and every agent had before permissions existed).
DEFAULT_PERMISSIONS = ("view", "remote_control", "video", "documents", "invite_guests")
DEFAULT_PERMISSIONS_SQL = '["view", "remote_control", "video", "documents", "invite_guests"]'

#: Roles of a participant row. ``guest`` is reserved for invited guests (a later issue).
PARTICIPANT_ROLES = ("visitor", "agent", "guest")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive datetimes are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"datetime {value.isoformat()} has no timezone; pass an aware (UTC) datetime")
        value = value.astimezone(UTC)
        if dialect.name in ("sqlite", "mysql", "mariadb"):
            return value.replace(tzinfo=None)  # stored as UTC wall time
        return value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers return datetimes
            value = datetime.fromisoformat(str(value))
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


agent_groups = Table(
    "agent_groups",
    Base.metadata,
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_agent_groups_group_id", "group_id"),
)


class GroupRow(Base):
    """A customer group: the numeric ``data-groupid`` of the script tag, with per-group settings."""

    __tablename__ = "groups"

    # Ids are chosen by the application (max + 1 when not given), never by a sequence: groups are often
    # created with explicit ids, which a database sequence would not know about.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(127))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Origins (``https://shop.example``) whose pages may start sessions; empty: any origin.
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    #: Whether agents of different ``agentrole`` may share a session (Glance "Multiple Roles Allowed").
    allow_mixed_roles: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Most sessions live at once in the group; None: no limit.
    max_live_sessions: Mapped[int | None] = mapped_column(Integer)
    #: Trusted cross-domain origins (kept for the cross-domain feature; not enforced yet).
    trusted_domains: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    #: Secret of the group's signed login keys (SSO); None: SSO is off for the group.
    sso_secret: Mapped[str | None] = mapped_column(String(128))


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(127), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(127))
    title: Mapped[str] = mapped_column(String(127), default="")
    agentrole: Mapped[str | None] = mapped_column(String(63))
    partnerid: Mapped[str | None] = mapped_column(String(127))
    partneruserid: Mapped[str | None] = mapped_column(String(127))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Permission names other than ``admin`` (which is ``is_admin``), e.g. ``["view", "invite_guests"]``.
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=DEFAULT_PERMISSIONS_SQL)

    groups: Mapped[list[GroupRow]] = relationship(
        secondary=agent_groups, lazy="selectin", order_by=GroupRow.id
    )


class SessionRow(Base):
    """One co-browsing session; ``id`` is the call id the visitor sees."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_group_id_key", "group_id", "key"),
        Index("ix_sessions_ended_at", "ended_at"),
        # AUTOINCREMENT on SQLite: a call id is never reused, even after rows are deleted.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    key: Mapped[str] = mapped_column(String(100))
    random_key: Mapped[bool] = mapped_column(Boolean)
    visitor_name: Mapped[str | None] = mapped_column(String(63))
    visitor_email: Mapped[str | None] = mapped_column(String(127))
    visitor_phone: Mapped[str | None] = mapped_column(String(31))
    visitorid: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    #: What a restarted server needs to continue the live session (epoch, user state, remote control, page):
    #: written by the session runtime when it changes, never page content (store/continuity.py).
    continuity: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ParticipantRow(Base):
    """Who was in a session and when: the visitor (with name, email, phone) and each agent's join/leave."""

    __tablename__ = "participants"
    __table_args__ = (
        CheckConstraint("role IN ('visitor', 'agent', 'guest')", name="role"),
        Index("ix_participants_session_id", "session_id"),
        Index("ix_participants_agent_id", "agent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    name: Mapped[str | None] = mapped_column(String(127))
    email: Mapped[str | None] = mapped_column(String(127))
    phone: Mapped[str | None] = mapped_column(String(31))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiTokenRow(Base):
    """A REST API token of an agent: only its SHA-256 is kept; ``prefix`` lets people tell tokens apart."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("ix_api_tokens_agent_id", "agent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(127), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsedLoginKeyRow(Base):
    """A signed login key already used, kept until it expires so that it cannot be replayed."""

    __tablename__ = "used_login_keys"
    __table_args__ = (Index("ix_used_login_keys_expires_at", "expires_at"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    """Who did what, in which session, when: joins, leaves, ends, admissions, permission changes."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_group_id", "group_id"),
        Index("ix_audit_log_session_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The acting agent, if an agent acted (kept as ``actor`` text if the agent is deleted later).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(127))
    action: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int | None] = mapped_column(Integer)
    session_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
