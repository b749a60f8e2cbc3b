"""REST API ``/api/v1/tokens``: an agent's API tokens (``Authorization: Bearer <token>``).

A token acts as its agent with the agent's permissions. The token itself is returned once, by the create
call; afterwards only its prefix is shown. Administrators may list and revoke the tokens of agents of their
groups; everyone their own.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from ..store.records import Agent, ApiToken
from .v1 import AgentDep, StoreDep, csrf_guard

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], dependencies=[Depends(csrf_guard)])


class TokenCreate(BaseModel):
    name: str = Field("", description="what the token is for (shown in lists)")


class TokenOut(BaseModel):
    id: int
    agent_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(TokenOut):
    token: str = Field(description="the token: shown only now, store it safely")


def _out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        agent_id=token.agent_id,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


@router.post("", status_code=201, summary="Create an API token for yourself")
async def create_token(body: TokenCreate, agent: AgentDep, store: StoreDep) -> NewToken:
    try:
        record, token = await store.create_token(agent.id, body.name)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return NewToken(**_out(record).model_dump(), token=token)


@router.get("", summary="Your API tokens")
async def list_tokens(agent: AgentDep, store: StoreDep) -> list[TokenOut]:
    return [_out(t) for t in await store.list_tokens(agent.id)]


async def _may_revoke(agent: Agent, owner_id: int, store: StoreDep) -> bool:
    if owner_id == agent.id:
        return True
    if not agent.is_admin:
        return False
    owner = await store.get_agent(owner_id)
    return owner is not None and bool(set(owner.group_ids) & set(agent.group_ids))


@router.delete("/{token_id}", summary="Revoke a token (yours, or as administrator one of your groups')")
async def revoke_token(token_id: int, agent: AgentDep, store: StoreDep) -> TokenOut:
    token = await store.get_token(token_id)
    if token is None or not await _may_revoke(agent, token.agent_id, store):
        raise HTTPException(404, f"no API token {token_id} of yours")
    return _out(await store.revoke_token(token_id, by=agent.id))
