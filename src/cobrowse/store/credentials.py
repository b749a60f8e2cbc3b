"""Credentials other than passwords: REST API tokens, and the signed login keys already used (SSO).

An API token is ``cbt_`` and 43 random URL-safe characters. Only its SHA-256 is stored (a token is random
and long, so a plain hash is enough; a slow password hash would only slow every API call), together with
its first characters (``prefix``) so that people can tell their tokens apart. A revoked token stays listed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from . import audit, convert, validate
from .accounts import Sessions
from .models import AgentRow, ApiTokenRow, UsedLoginKeyRow, utcnow
from .records import Agent, ApiToken

TOKEN_PREFIX = "cbt_"
SHOWN_PREFIX = 12  # "cbt_" and 8 random characters


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


async def create_token(sessions: Sessions, agent_id: int, name: str = "") -> tuple[ApiToken, str]:
    """A new token for the agent: its record and the token itself (shown once, never stored)."""
    name = validate.text("token name", name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with sessions.begin() as db:
        agent = await db.get(AgentRow, agent_id) if validate.is_row_id(agent_id) else None
        if agent is None:
            raise ValueError(f"no agent with id {agent_id}")
        row = ApiTokenRow(
            agent_id=agent_id,
            name=name,
            prefix=token[:SHOWN_PREFIX],
            token_hash=token_hash(token),
            created_at=utcnow(),
        )
        db.add(row)
        await db.flush()
        audit.add(db, "token.create", agent=agent, details={"token": row.id, "prefix": row.prefix})
    return convert.api_token(row), token


async def agent_for_token(sessions: Sessions, token: str) -> Agent | None:
    """The agent a live (not revoked) token belongs to, else None; notes when the token was used."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    async with sessions.begin() as db:
        row = await db.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash(token)))
        if row is None or row.revoked_at is not None:
            return None
        row.last_used_at = utcnow()
        agent = await db.get(AgentRow, row.agent_id)
        return None if agent is None else convert.agent(agent)


async def list_tokens(sessions: Sessions, agent_id: int | None = None) -> list[ApiToken]:
    query = select(ApiTokenRow).order_by(ApiTokenRow.id)
    if agent_id is not None:
        query = query.where(ApiTokenRow.agent_id == agent_id)
    async with sessions() as db:
        return [convert.api_token(row) for row in await db.scalars(query)]


async def get_token(sessions: Sessions, token_id: int) -> ApiToken | None:
    if not validate.is_row_id(token_id):
        return None
    async with sessions() as db:
        row = await db.get(ApiTokenRow, token_id)
        return None if row is None else convert.api_token(row)


async def revoke_token(sessions: Sessions, token_id: int, *, by: int | None = None) -> ApiToken:
    """Revoke a token (idempotent: revoking it again changes nothing)."""
    async with sessions.begin() as db:
        row = await db.get(ApiTokenRow, token_id) if validate.is_row_id(token_id) else None
        if row is None:
            raise ValueError(f"no API token with id {token_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            actor = await db.get(AgentRow, by if by is not None else row.agent_id)
            audit.add(
                db,
                "token.revoke",
                agent=actor,
                actor=None if actor else "cli",
                details={"token": row.id, "prefix": row.prefix, "owner": row.agent_id},
            )
    return convert.api_token(row)


async def use_login_key(sessions: Sessions, digest: str, expires_at: datetime) -> bool:
    """Mark a login key used; False if it was used before (a replay). Expired marks are dropped."""
    validate.aware("expires_at", expires_at)
    try:
        async with sessions.begin() as db:
            await db.execute(delete(UsedLoginKeyRow).where(UsedLoginKeyRow.expires_at < utcnow()))
            if await db.get(UsedLoginKeyRow, digest) is not None:
                return False
            db.add(UsedLoginKeyRow(digest=digest, expires_at=expires_at))
        return True
    except IntegrityError:  # used at the same moment by another request
        return False


async def find_partner_agent(
    sessions: Sessions, group_id: int, partnerid: str, partneruserid: str
) -> Agent | None:
    """The agent of ``group_id`` with this partnerid and partneruserid (single sign-on), if exactly one."""
    async with sessions() as db:
        rows = list(
            await db.scalars(
                select(AgentRow).where(
                    AgentRow.partnerid == partnerid, AgentRow.partneruserid == partneruserid
                )
            )
        )
    matches = [row for row in rows if any(g.id == group_id for g in row.groups)]
    return convert.agent(matches[0]) if len(matches) == 1 else None
