"""Groups and agent accounts: creation with validation, lookup, login.

Functions here take an ``async_sessionmaker`` and own their transactions; :class:`cobrowse.store.Store` is
the public face. Password hashing (tens of milliseconds of CPU by design) runs in a worker thread so that a
login never stalls the server's event loop, and outside any transaction so that no database lock is held
meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cobrowse import passwords
from cobrowse.permissions import check_permissions

from . import convert, validate
from .models import DEFAULT_PERMISSIONS, AgentRow, GroupRow, utcnow
from .records import Agent, Group

Sessions = async_sessionmaker[AsyncSession]


async def create_group(sessions: Sessions, name: str, group_id: int | None = None) -> Group:
    name = validate.text("group name", name, required=True)
    if group_id is not None:
        validate.group_id(group_id)
    try:
        async with sessions.begin() as db:
            if group_id is None:
                group_id = (await db.scalar(select(func.max(GroupRow.id))) or 0) + 1
            elif await db.get(GroupRow, group_id) is not None:
                raise ValueError(f"group {group_id} already exists")
            row = GroupRow(id=group_id, name=name, settings={}, created_at=utcnow())
            db.add(row)
        return convert.group(row)
    except IntegrityError as exc:  # created concurrently
        raise ValueError(f"group {group_id} already exists") from exc


async def get_group(sessions: Sessions, group_id: int) -> Group | None:
    if not validate.is_row_id(group_id):
        return None
    async with sessions() as db:
        row = await db.get(GroupRow, group_id)
        return None if row is None else convert.group(row)


async def list_groups(sessions: Sessions) -> list[Group]:
    async with sessions() as db:
        return [convert.group(row) for row in await db.scalars(select(GroupRow).order_by(GroupRow.id))]


async def set_group_settings(sessions: Sessions, group_id: int, settings: dict[str, Any]) -> Group:
    if not isinstance(settings, dict):
        raise ValueError("group settings must be a JSON object")
    async with sessions.begin() as db:
        row = await db.get(GroupRow, group_id) if validate.is_row_id(group_id) else None
        if row is None:
            raise ValueError(f"no group with id {group_id}")
        row.settings = dict(settings)
    return convert.group(row)


async def _groups(db: AsyncSession, group_ids: Sequence[int]) -> list[GroupRow]:
    wanted = sorted({validate.group_id(g) for g in group_ids})
    rows = list(await db.scalars(select(GroupRow).where(GroupRow.id.in_(wanted)))) if wanted else []
    missing = sorted(set(wanted) - {row.id for row in rows})
    if missing:
        raise ValueError(f"unknown group {', '.join(map(str, missing))}")
    return rows


async def create_agent(
    sessions: Sessions,
    username: str,
    password: str,
    *,
    name: str,
    groups: Sequence[int],
    title: str = "",
    agentrole: str | None = None,
    partnerid: str | None = None,
    partneruserid: str | None = None,
    is_admin: bool = False,
    permissions: Sequence[str] | None = None,
) -> Agent:
    username = validate.username(username)
    validate.password(password)
    granted = check_permissions(DEFAULT_PERMISSIONS if permissions is None else permissions)
    is_admin = bool(is_admin) or "admin" in granted
    fields = {
        "name": validate.text("agent name", name, required=True),
        "title": validate.text("agent title", title),
        "agentrole": validate.optional_text("agentrole", agentrole, validate.MAX_AGENTROLE),
        "partnerid": validate.optional_text("partnerid", partnerid),
        "partneruserid": validate.optional_text("partneruserid", partneruserid),
    }
    async with sessions() as db:  # cheap checks first: do not spend a hash on a request that will fail
        if await db.scalar(select(AgentRow.id).where(AgentRow.username == username)) is not None:
            raise ValueError(f"an agent with username {username!r} already exists")
        await _groups(db, groups)
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    try:
        async with sessions.begin() as db:
            row = AgentRow(
                username=username,
                password_hash=password_hash,
                is_admin=is_admin,
                permissions=[p for p in granted if p != "admin"],
                created_at=utcnow(),
                groups=await _groups(db, groups),
                **fields,
            )
            db.add(row)
        return convert.agent(row)
    except IntegrityError as exc:
        raise ValueError(f"an agent with username {username!r} already exists") from exc


async def get_agent(sessions: Sessions, agent_id: int) -> Agent | None:
    if not validate.is_row_id(agent_id):
        return None
    async with sessions() as db:
        row = await db.get(AgentRow, agent_id)
        return None if row is None else convert.agent(row)


async def get_agent_by_username(sessions: Sessions, username: str) -> Agent | None:
    async with sessions() as db:
        row = await db.scalar(select(AgentRow).where(AgentRow.username == username))
        return None if row is None else convert.agent(row)


async def list_agents(sessions: Sessions) -> list[Agent]:
    async with sessions() as db:
        return [convert.agent(row) for row in await db.scalars(select(AgentRow).order_by(AgentRow.id))]


async def authenticate(sessions: Sessions, username: str, password: str) -> Agent | None:
    """The agent if ``password`` is right; None otherwise, in about the same time whether or not it exists."""
    if not isinstance(password, str) or len(password) > validate.MAX_PASSWORD:
        return None
    row = None
    if isinstance(username, str) and validate.USERNAME_PATTERN.fullmatch(username):
        async with sessions() as db:
            row = await db.scalar(select(AgentRow).where(AgentRow.username == username))
    if row is None:
        await asyncio.to_thread(passwords.verify_password, passwords.dummy_hash(), password)
        return None
    if not await asyncio.to_thread(passwords.verify_password, row.password_hash, password):
        return None
    if passwords.needs_rehash(row.password_hash):
        new_hash = await asyncio.to_thread(passwords.hash_password, password)
        async with sessions.begin() as db:
            fresh = await db.get(AgentRow, row.id)
            if fresh is not None and fresh.password_hash == row.password_hash:
                fresh.password_hash = new_hash
    return convert.agent(row)


async def set_password(sessions: Sessions, agent_id: int, password: str) -> None:
    validate.password(password)
    if await get_agent(sessions, agent_id) is None:
        raise ValueError(f"no agent with id {agent_id}")
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    async with sessions.begin() as db:
        row = await db.get(AgentRow, agent_id)
        if row is None:
            raise ValueError(f"no agent with id {agent_id}")
        row.password_hash = password_hash
