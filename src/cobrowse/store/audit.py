"""The audit log: who did what, in which session, when. Rows are only ever added, never changed.

Session events (join, leave, end) are written by :mod:`activity` in the same transaction as the change they
describe, so the log never misses one and never shows one that did not happen; account changes (permissions,
settings, tokens) likewise in :mod:`governance` and :mod:`credentials`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from . import convert, validate
from .accounts import Sessions
from .models import AgentRow, AuditRow, utcnow
from .records import AuditEntry

MAX_LIST = 1000


def add(
    db: AsyncSession,
    action: str,
    *,
    agent: AgentRow | None = None,
    actor: str | None = None,
    group_id: int | None = None,
    session_id: int | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add an entry to the transaction of ``db``; ``actor`` defaults to the agent's username."""
    db.add(
        AuditRow(
            at=at or utcnow(),
            agent_id=agent.id if agent is not None else None,
            actor=(actor or (agent.username if agent is not None else "system"))[:127],
            action=action[:64],
            group_id=group_id,
            session_id=session_id,
            details=dict(details or {}),
        )
    )


async def record(
    sessions: Sessions,
    action: str,
    *,
    agent_id: int | None = None,
    actor: str | None = None,
    group_id: int | None = None,
    session_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    async with sessions.begin() as db:
        agent = await db.get(AgentRow, agent_id) if validate.is_row_id(agent_id) else None
        add(db, action, agent=agent, actor=actor, group_id=group_id, session_id=session_id, details=details)


async def entries(
    sessions: Sessions,
    *,
    group_ids: Sequence[int] | None = None,
    include_ungrouped: bool = False,
    session_id: int | None = None,
    agent_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Entries newest first. ``group_ids`` limits to those groups (plus entries of no group when
    ``include_ungrouped``); None means every group."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise ValueError(f"limit must be 1 to {MAX_LIST}, not {limit!r}")
    query = select(AuditRow)
    if group_ids is not None:
        in_groups = AuditRow.group_id.in_(sorted(set(group_ids)))
        query = query.where(or_(in_groups, AuditRow.group_id.is_(None)) if include_ungrouped else in_groups)
    if session_id is not None:
        query = query.where(AuditRow.session_id == session_id)
    if agent_id is not None:
        query = query.where(AuditRow.agent_id == agent_id)
    if action is not None:
        query = query.where(AuditRow.action == action)
    if since is not None:
        query = query.where(AuditRow.at >= validate.aware("from", since))
    if until is not None:
        query = query.where(AuditRow.at < validate.aware("to", until))
    async with sessions() as db:
        rows = await db.scalars(query.order_by(AuditRow.id.desc()).limit(limit))
        return [convert.audit(row) for row in rows]
