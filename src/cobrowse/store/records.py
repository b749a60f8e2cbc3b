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
