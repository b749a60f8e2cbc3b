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

from . import convert, validate
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
        await db.execute(
            update(ParticipantRow)
            .where(ParticipantRow.session_id == session_id, ParticipantRow.left_at.is_(None))
            .values(left_at=ended_at)
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
        if _rowcount(result) == 0 and await db.get(ParticipantRow, participant_id) is None:
            raise ValueError(f"no participant with id {participant_id}")
        return _rowcount(result) > 0


async def list_participants(sessions: Sessions, session_id: int) -> list[Participant]:
    if not validate.is_row_id(session_id):
        return []
    async with sessions() as db:
        rows = await db.scalars(
            select(ParticipantRow).where(ParticipantRow.session_id == session_id).order_by(ParticipantRow.id)
        )
        return [convert.participant(row) for row in rows]
