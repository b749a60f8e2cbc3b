"""ORM rows to the plain records of :mod:`cobrowse.store.records` (the only shape that leaves the store)."""

from __future__ import annotations

from .models import AgentRow, GroupRow, ParticipantRow, SessionRow
from .records import Agent, Group, Participant, SessionRecord, VisitorFields


def group(row: GroupRow) -> Group:
    return Group(id=row.id, name=row.name, settings=dict(row.settings or {}), created_at=row.created_at)


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
