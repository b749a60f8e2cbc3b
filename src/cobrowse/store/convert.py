"""ORM rows to the plain records of :mod:`cobrowse.store.records` (the only shape that leaves the store)."""

from __future__ import annotations

from .models import AgentRow, ApiTokenRow, AuditRow, GroupRow, ParticipantRow, SessionRow
from .records import Agent, ApiToken, AuditEntry, Group, Participant, SessionRecord, VisitorFields

#: Every permission in its canonical order (``admin`` last; it is the ``is_admin`` column).
PERMISSION_ORDER = ("view", "remote_control", "video", "documents", "invite_guests", "admin")


def group(row: GroupRow) -> Group:
    return Group(
        id=row.id,
        name=row.name,
        settings=dict(row.settings or {}),
        created_at=row.created_at,
        allowed_origins=tuple(row.allowed_origins or ()),
        allow_mixed_roles=bool(row.allow_mixed_roles),
        max_live_sessions=row.max_live_sessions,
        trusted_domains=tuple(row.trusted_domains or ()),
        sso_enabled=bool(row.sso_secret),
    )


def permissions(stored: list[str] | None, is_admin: bool) -> tuple[str, ...]:
    have = set(stored or ()) - {"admin"}
    if is_admin:
        have.add("admin")
    return tuple(p for p in PERMISSION_ORDER if p in have)


def agent(row: AgentRow) -> Agent:
    return Agent(
        id=row.id,
        username=row.username,
        name=row.name,
        title=row.title,
        agentrole=row.agentrole,
        partnerid=row.partnerid,
        partneruserid=row.partneruserid,
        group_ids=tuple(sorted(g.id for g in row.groups)),
        is_admin=row.is_admin,
        created_at=row.created_at,
        permissions=permissions(row.permissions, row.is_admin),
    )


def api_token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        agent_id=row.agent_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def audit(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        agent_id=row.agent_id,
        actor=row.actor,
        action=row.action,
        group_id=row.group_id,
        session_id=row.session_id,
        details=dict(row.details or {}),
    )


def session(row: SessionRow) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        group_id=row.group_id,
        key=row.key,
        random_key=row.random_key,
        started_at=row.started_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        visitor=VisitorFields(
            name=row.visitor_name, email=row.visitor_email, phone=row.visitor_phone, visitorid=row.visitorid
        ),
    )


def participant(row: ParticipantRow) -> Participant:
    return Participant(
        id=row.id,
        session_id=row.session_id,
        role=row.role,
        agent_id=row.agent_id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        joined_at=row.joined_at,
        left_at=row.left_at,
    )
