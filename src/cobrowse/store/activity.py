"""Sessions and participants: who was in which session, from when to when, and why it ended.

Ending is idempotent and the first end wins: the visitor's Stop and an agent's End can race, and a crashed
node's sessions are closed again at start-up; later ends change nothing. Ending a session also closes every
participant row still open, so a participant's ``left_at`` is never later than the session's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from . import audit, convert, validate
from .accounts import Sessions
from .models import AgentRow, GroupRow, ParticipantRow, SessionRow
from .records import Participant, SessionRecord, VisitorFields

MAX_LIST = 1000


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


async def create_session(
    sessions: Sessions,
    group_id: int,
    key: str,
    random_key: bool,
    visitor: VisitorFields,
    started_at: datetime,
) -> SessionRecord:
    validate.key(key)
    validate.visitor(visitor)
    validate.aware("started_at", started_at)
    async with sessions.begin() as db:
        if not validate.is_row_id(group_id) or await db.get(GroupRow, group_id) is None:
            raise ValueError(f"no group with id {group_id}")
        row = SessionRow(
            group_id=group_id,
            key=key,
            random_key=bool(random_key),
            visitor_name=visitor.name,
            visitor_email=visitor.email,
            visitor_phone=visitor.phone,
            visitorid=visitor.visitorid,
            started_at=started_at,
        )
        db.add(row)
        await db.flush()
        db.add(
            ParticipantRow(
                session_id=row.id,
                role="visitor",
                name=visitor.name,
                email=visitor.email,
                phone=visitor.phone,
                joined_at=started_at,
            )
        )
        audit.add(
            db,
            "session.start",
            actor="visitor",
            group_id=group_id,
            session_id=row.id,
            details={"key": key},
            at=started_at,
        )
    return convert.session(row)


async def end_session(sessions: Sessions, session_id: int, reason: str, ended_at: datetime) -> bool:
    reason = validate.end_reason(reason)
    validate.aware("ended_at", ended_at)
    if not validate.is_row_id(session_id):
        raise ValueError(f"no session with id {session_id}")
    async with sessions.begin() as db:
        result = await db.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id, SessionRow.ended_at.is_(None))
            .values(ended_at=ended_at, end_reason=reason)
        )
        if _rowcount(result) == 0:
            if await db.get(SessionRow, session_id) is None:
                raise ValueError(f"no session with id {session_id}")
            return False
        row = await db.get(SessionRow, session_id)
        still_in = list(
            await db.scalars(
                select(ParticipantRow).where(
                    ParticipantRow.session_id == session_id,
                    ParticipantRow.left_at.is_(None),
                    ParticipantRow.agent_id.is_not(None),
                )
            )
        )
        for participant in still_in:  # agents leave with the end: audited like any leave
            agent = await db.get(AgentRow, participant.agent_id)
            audit.add(
                db,
                "session.leave",
                agent=agent,
                actor=None if agent else "agent",
                group_id=row.group_id if row else None,
                session_id=session_id,
                details={"reason": "ended"},
                at=ended_at,
            )
        await db.execute(
            update(ParticipantRow)
            .where(ParticipantRow.session_id == session_id, ParticipantRow.left_at.is_(None))
            .values(left_at=ended_at)
            .execution_options(synchronize_session=False)
        )
        audit.add(
            db,
            "session.end",
            actor=reason,
            group_id=row.group_id if row else None,
            session_id=session_id,
            details={"reason": reason},
            at=ended_at,
        )
    return True


async def end_all_live_sessions(sessions: Sessions, reason: str, ended_at: datetime) -> int:
    reason = validate.end_reason(reason)
    validate.aware("ended_at", ended_at)
    async with sessions.begin() as db:
        live = select(SessionRow.id).where(SessionRow.ended_at.is_(None))
        await db.execute(
            update(ParticipantRow)
            .where(ParticipantRow.session_id.in_(live), ParticipantRow.left_at.is_(None))
            .values(left_at=ended_at)
            .execution_options(synchronize_session=False)
        )
        result = await db.execute(
            update(SessionRow)
            .where(SessionRow.ended_at.is_(None))
            .values(ended_at=ended_at, end_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result)


async def get_session(sessions: Sessions, session_id: int) -> SessionRecord | None:
    if not validate.is_row_id(session_id):
        return None
    async with sessions() as db:
        row = await db.get(SessionRow, session_id)
        return None if row is None else convert.session(row)


async def find_live_session(sessions: Sessions, group_id: int, key: str) -> SessionRecord | None:
    if not validate.is_row_id(group_id):
        return None
    async with sessions() as db:
        row = await db.scalar(
            select(SessionRow)
            .where(SessionRow.group_id == group_id, SessionRow.key == key, SessionRow.ended_at.is_(None))
            .order_by(SessionRow.id.desc())
            .limit(1)
        )
        return None if row is None else convert.session(row)


async def list_sessions(
    sessions: Sessions, group_ids: Sequence[int], live_only: bool = True, limit: int = 100
) -> list[SessionRecord]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise ValueError(f"limit must be 1 to {MAX_LIST}, not {limit!r}")
    wanted = sorted({g for g in group_ids if validate.is_row_id(g)})
    if not wanted:
        return []
    query = select(SessionRow).where(SessionRow.group_id.in_(wanted))
    if live_only:
        query = query.where(SessionRow.ended_at.is_(None))
    async with sessions() as db:
        rows = await db.scalars(query.order_by(SessionRow.id.desc()).limit(limit))
        return [convert.session(row) for row in rows]


async def record_agent_join(
    sessions: Sessions, session_id: int, agent_id: int, joined_at: datetime
) -> Participant:
    validate.aware("joined_at", joined_at)
    async with sessions.begin() as db:
        session = await db.get(SessionRow, session_id) if validate.is_row_id(session_id) else None
        if session is None:
            raise ValueError(f"no session with id {session_id}")
        if session.ended_at is not None:
            raise ValueError(f"session {session_id} has ended")
        agent = await db.get(AgentRow, agent_id) if validate.is_row_id(agent_id) else None
        if agent is None:
            raise ValueError(f"no agent with id {agent_id}")
        row = ParticipantRow(
            session_id=session_id, role="agent", agent_id=agent_id, name=agent.name, joined_at=joined_at
        )
        db.add(row)
        audit.add(
            db,
            "session.join",
            agent=agent,
            group_id=session.group_id,
            session_id=session_id,
            details={"agentrole": agent.agentrole},
            at=joined_at,
        )
    return convert.participant(row)


async def record_agent_leave(sessions: Sessions, participant_id: int, left_at: datetime) -> bool:
    validate.aware("left_at", left_at)
    if not validate.is_row_id(participant_id):
        raise ValueError(f"no participant with id {participant_id}")
    async with sessions.begin() as db:
        result = await db.execute(
            update(ParticipantRow)
            .where(ParticipantRow.id == participant_id, ParticipantRow.left_at.is_(None))
            .values(left_at=left_at)
        )
        participant = await db.get(ParticipantRow, participant_id)
        if participant is None:
            raise ValueError(f"no participant with id {participant_id}")
        if _rowcount(result) == 0:
            return False
        session = await db.get(SessionRow, participant.session_id)
        agent = await db.get(AgentRow, participant.agent_id) if participant.agent_id else None
        audit.add(
            db,
            f"session.{participant.role}.leave" if participant.role != "agent" else "session.leave",
            agent=agent,
            actor=None if agent else participant.role,
            group_id=session.group_id if session else None,
            session_id=participant.session_id,
            at=left_at,
        )
        return True


async def list_participants(sessions: Sessions, session_id: int) -> list[Participant]:
    if not validate.is_row_id(session_id):
        return []
    async with sessions() as db:
        rows = await db.scalars(
            select(ParticipantRow).where(ParticipantRow.session_id == session_id).order_by(ParticipantRow.id)
        )
        return [convert.participant(row) for row in rows]


async def search_sessions(
    sessions: Sessions,
    group_ids: Sequence[int],
    *,
    live_only: bool = False,
    key: str | None = None,
    agent_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[SessionRecord]:
    """Session history of the given groups, newest first: started in [since, until), with ``key``, or
    joined by agent ``agent_id``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise ValueError(f"limit must be 1 to {MAX_LIST}, not {limit!r}")
    wanted = sorted({g for g in group_ids if validate.is_row_id(g)})
    if not wanted:
        return []
    query = select(SessionRow).where(SessionRow.group_id.in_(wanted))
    if live_only:
        query = query.where(SessionRow.ended_at.is_(None))
    if key is not None:
        query = query.where(SessionRow.key == key)
    if since is not None:
        query = query.where(SessionRow.started_at >= validate.aware("from", since))
    if until is not None:
        query = query.where(SessionRow.started_at < validate.aware("to", until))
    if agent_id is not None:
        joined = select(ParticipantRow.session_id).where(ParticipantRow.agent_id == agent_id)
        query = query.where(SessionRow.id.in_(joined))
    async with sessions() as db:
        rows = await db.scalars(query.order_by(SessionRow.id.desc()).limit(limit))
        return [convert.session(row) for row in rows]
