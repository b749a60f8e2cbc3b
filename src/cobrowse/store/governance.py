"""Changing groups and agents after creation: group options, SSO secrets, agent details and permissions.

Each change is recorded in the audit log in its own transaction, with the acting agent (``by``; None for the
command line, logged as ``cli``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from cobrowse.permissions import check_permissions, normalise_origin

from . import audit, convert, validate
from .accounts import Sessions, _groups
from .models import AgentRow, GroupRow
from .records import Agent, Group

MAX_ORIGINS = 100
MAX_LIVE_SESSIONS = 100_000

#: Fields of :func:`update_agent`, with their validation.
_AGENT_TEXT = {"name": True, "title": False}
_AGENT_OPTIONAL = {
    "agentrole": validate.MAX_AGENTROLE,
    "partnerid": validate.MAX_TEXT,
    "partneruserid": validate.MAX_TEXT,
}


def _origins(field: str, values: Sequence[str]) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValueError(f"{field} must be a list of origins")
    if len(values) > MAX_ORIGINS:
        raise ValueError(f"{field}: at most {MAX_ORIGINS} origins")
    out: list[str] = []
    for value in values:
        origin = normalise_origin(value)
        if origin not in out:
            out.append(origin)
    return out


def _by(agent: AgentRow | None) -> dict[str, Any]:
    return {"agent": agent} if agent is not None else {"actor": "cli"}


async def set_group_options(
    sessions: Sessions,
    group_id: int,
    *,
    by: int | None = None,
    name: str | None = None,
    allowed_origins: Sequence[str] | None = None,
    allow_mixed_roles: bool | None = None,
    max_live_sessions: int | None = None,
    trusted_domains: Sequence[str] | None = None,
) -> Group:
    """Change the options given (None: unchanged; ``max_live_sessions=0`` removes the limit)."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = validate.text("group name", name, required=True)
    if allowed_origins is not None:
        changes["allowed_origins"] = _origins("allowed_origins", allowed_origins)
    if trusted_domains is not None:
        changes["trusted_domains"] = _origins("trusted_domains", trusted_domains)
    if allow_mixed_roles is not None:
        changes["allow_mixed_roles"] = bool(allow_mixed_roles)
    if max_live_sessions is not None:
        limit = max_live_sessions
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIVE_SESSIONS:
            raise ValueError(f"max_live_sessions must be 0 (no limit) to {MAX_LIVE_SESSIONS}, not {limit!r}")
        changes["max_live_sessions"] = limit or None
    async with sessions.begin() as db:
        row = await db.get(GroupRow, group_id) if validate.is_row_id(group_id) else None
        if row is None:
            raise ValueError(f"no group with id {group_id}")
        for field, value in changes.items():
            setattr(row, field, value)
        actor = await db.get(AgentRow, by) if by is not None else None
        audit.add(db, "group.settings", group_id=group_id, details=dict(changes), **_by(actor))
    return convert.group(row)


async def rotate_sso_secret(sessions: Sessions, group_id: int, *, by: int | None = None) -> str:
    """Give the group a new secret for signed login keys (keys signed with the old one stop working)."""
    secret = secrets.token_urlsafe(32)
    async with sessions.begin() as db:
        row = await db.get(GroupRow, group_id) if validate.is_row_id(group_id) else None
        if row is None:
            raise ValueError(f"no group with id {group_id}")
        row.sso_secret = secret
        actor = await db.get(AgentRow, by) if by is not None else None
        audit.add(db, "group.sso_secret", group_id=group_id, **_by(actor))
    return secret


async def sso_secret(sessions: Sessions, group_id: int) -> str | None:
    if not validate.is_row_id(group_id):
        return None
    async with sessions() as db:
        return await db.scalar(select(GroupRow.sso_secret).where(GroupRow.id == group_id))


async def set_permissions(
    sessions: Sessions, agent_id: int, permissions: Sequence[str], *, by: int | None = None
) -> Agent:
    """Replace the agent's permissions (``admin`` among them sets ``is_admin``)."""
    wanted = check_permissions(permissions)
    async with sessions.begin() as db:
        row = await db.get(AgentRow, agent_id) if validate.is_row_id(agent_id) else None
        if row is None:
            raise ValueError(f"no agent with id {agent_id}")
        before = convert.permissions(row.permissions, row.is_admin)
        row.permissions = [p for p in wanted if p != "admin"]
        row.is_admin = "admin" in wanted
        actor = await db.get(AgentRow, by) if by is not None else None
        for group in row.groups:
            audit.add(
                db,
                "agent.permissions",
                group_id=group.id,
                details={"agent": row.username, "before": list(before), "after": list(wanted)},
                **_by(actor),
            )
    return convert.agent(row)


async def update_agent(
    sessions: Sessions,
    agent_id: int,
    *,
    by: int | None = None,
    groups: Sequence[int] | None = None,
    **fields: str | None,
) -> Agent:
    """Change name, title, agentrole, partnerid, partneruserid and/or groups (fields given only)."""
    changes: dict[str, Any] = {}
    for field, value in fields.items():
        if field in _AGENT_TEXT:
            changes[field] = validate.text(f"agent {field}", value or "", required=_AGENT_TEXT[field])
        elif field in _AGENT_OPTIONAL:
            changes[field] = validate.optional_text(field, value or None, _AGENT_OPTIONAL[field])
        else:
            raise ValueError(f"unknown agent field {field!r}")
    async with sessions.begin() as db:
        row = await db.get(AgentRow, agent_id) if validate.is_row_id(agent_id) else None
        if row is None:
            raise ValueError(f"no agent with id {agent_id}")
        for field, value in changes.items():
            setattr(row, field, value)
        if groups is not None:
            row.groups = await _groups(db, groups)
            changes["groups"] = sorted(g.id for g in row.groups)
        actor = await db.get(AgentRow, by) if by is not None else None
        for group in row.groups:
            audit.add(
                db,
                "agent.update",
                group_id=group.id,
                details={"agent": row.username, **changes},
                **_by(actor),
            )
    return convert.agent(row)


async def delete_agent(sessions: Sessions, agent_id: int, *, by: int | None = None) -> None:
    async with sessions.begin() as db:
        row = await db.get(AgentRow, agent_id) if validate.is_row_id(agent_id) else None
        if row is None:
            raise ValueError(f"no agent with id {agent_id}")
        actor = await db.get(AgentRow, by) if by is not None and by != agent_id else None
        for group in row.groups:
            audit.add(db, "agent.delete", group_id=group.id, details={"agent": row.username}, **_by(actor))
        await db.delete(row)
