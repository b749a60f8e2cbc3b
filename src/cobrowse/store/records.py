"""Plain records the store hands out: the rest of the server never sees ORM objects or sessions."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any


@dataclasses.dataclass(frozen=True)
class Group:
    id: int
    name: str
    #: Per-group settings (JSON object), e.g. masking selectors in a later issue.
    settings: dict[str, Any] = dataclasses.field(default_factory=dict, hash=False)
    created_at: datetime | None = None
    #: Origins whose pages may start sessions (``https://shop.example``, ``https://*.shop.example``);
    #: empty: any origin.
    allowed_origins: tuple[str, ...] = ()
    #: Whether agents of different roles may share a session.
    allow_mixed_roles: bool = False
    #: Most sessions live at once; None: no limit.
    max_live_sessions: int | None = None
    #: Trusted cross-domain origins (stored; the cross-domain feature is not built yet).
    trusted_domains: tuple[str, ...] = ()
    #: Whether the group has a secret for signed login keys (the secret itself is never in a record).
    sso_enabled: bool = False


@dataclasses.dataclass(frozen=True)
class Agent:
    id: int
    username: str
    name: str
    title: str
    agentrole: str | None
    partnerid: str | None
    partneruserid: str | None
    group_ids: tuple[int, ...]
    is_admin: bool = False
    created_at: datetime | None = None
    #: Permission names, ``admin`` included exactly when ``is_admin`` (see :mod:`cobrowse.permissions`).
    permissions: tuple[str, ...] = ("view", "remote_control", "video", "documents", "invite_guests")

    def has(self, permission: str) -> bool:
        return permission in self.permissions


@dataclasses.dataclass(frozen=True)
class VisitorFields:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    visitorid: str | None = None


@dataclasses.dataclass(frozen=True)
class SessionRecord:
    id: int  # the call id the visitor sees (getCallId())
    group_id: int
    key: str
    random_key: bool
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    visitor: VisitorFields


@dataclasses.dataclass(frozen=True)
class Participant:
    id: int
    session_id: int
    role: str  # "visitor" | "agent"
    agent_id: int | None
    name: str | None
    email: str | None
    phone: str | None
    joined_at: datetime
    left_at: datetime | None


@dataclasses.dataclass(frozen=True)
class ApiToken:
    """An API token as listed: never the token itself (shown once, at creation), only its prefix."""

    id: int
    agent_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    agent_id: int | None
    actor: str
    action: str
    group_id: int | None = None
    session_id: int | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict, hash=False)
