"""REST API ``/api/v1/groups``: the agent's groups and their masking rules.

Reading a group's rules needs membership; changing them needs an administrator of that group. A change
applies to each visitor page from its next start or page load.
"""

from __future__ import annotations

import msgspec
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from ..auth import same_origin
from ..protocol.masking import parse_masking_config
from ..store import Store
from ..store.records import Agent, Group
from .v1 import AgentDep, StoreDep

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])


class GroupOut(BaseModel):
    id: int
    name: str


class MaskingPagesModel(BaseModel):
    allow: list[str] = Field(
        default_factory=list, description="URL glob patterns; if any, other pages are masked"
    )
    deny: list[str] = Field(default_factory=list, description="URL glob patterns of masked pages (deny wins)")


class MaskingModel(BaseModel):
    selectors: list[str] = Field(default_factory=list, description="CSS selectors of masked elements")
    pages: MaskingPagesModel = Field(default_factory=MaskingPagesModel)


async def _group(agent: Agent, store: Store, group_id: int) -> Group:
    group: Group | None = await store.get_group(group_id) if group_id in agent.group_ids else None
    if group is None:
        raise HTTPException(404, f"no group {group_id} among yours")
    return group


@router.get("", summary="The groups the agent works in")
async def list_groups(agent: AgentDep, store: StoreDep) -> list[GroupOut]:
    groups = [await store.get_group(gid) for gid in agent.group_ids]
    return [GroupOut(id=g.id, name=g.name) for g in groups if g is not None]


@router.get("/{group_id}/masking", summary="The group's masking rules")
async def get_masking(group_id: int, agent: AgentDep, store: StoreDep) -> MaskingModel:
    group = await _group(agent, store, group_id)
    return MaskingModel.model_validate(group.settings.get("masking") or {})


@router.put("/{group_id}/masking", summary="Replace the group's masking rules (administrators)")
async def put_masking(
    group_id: int, request: Request, agent: AgentDep, store: StoreDep, rules: MaskingModel
) -> MaskingModel:
    if not same_origin(request):
        raise HTTPException(403, "cross-site request refused")
    group = await _group(agent, store, group_id)
    if not agent.is_admin:
        raise HTTPException(403, "only an administrator may change masking rules")
    try:
        config = parse_masking_config(rules.model_dump())
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    settings = dict(group.settings)
    settings["masking"] = msgspec.to_builtins(config)
    await store.set_group_settings(group_id, settings)
    return MaskingModel.model_validate(settings["masking"])
