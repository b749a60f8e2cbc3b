"""HTTP requests about a live session, answered by the session's home node (see sessions/cluster.py).

Ending a session, inviting a guest and opening a guest link act on state only the session's home holds (its
state machine, its invitations). On a cluster, a node that is not the home passes such a request on to the
home, as it is (method, path, body, the caller's cookie or token), with the cluster's tunnel header, and
returns the home's answer: the caller never needs to know which node it reached. The home authorises the
request again, exactly as if it had come directly.
"""

from __future__ import annotations

import logging

import httpx
from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..sessions.cluster import NoHome
from ..sessions.runtime import SessionRuntime

log = logging.getLogger("cobrowse.cluster")

#: Request headers passed on to the home (who is asking, and what).
FORWARDED = ("cookie", "authorization", "content-type", "accept", "origin", "user-agent")
#: Time the home has to answer.
TIMEOUT = 10.0


async def answered_at_home(request: Request, runtime: SessionRuntime, session_id: int) -> Response | None:
    """None if this node should answer (it is the session's home, or runs alone); else the home's answer.
    A node with no live home for the session becomes its home (adopting it) and answers itself."""
    cluster = runtime.cluster
    if not cluster.multi or runtime.get(session_id) is not None or cluster.tunnelled(request.headers):
        return None
    try:
        base = await cluster.home_url(session_id)
    except NoHome as exc:
        raise HTTPException(503, str(exc)) from None
    if base is None:
        await runtime.local(session_id)
        return None
    headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
    headers["x-forwarded-host"] = request.headers.get("host", "")
    headers.update(cluster.tunnel_headers())
    url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            answer = await client.request(request.method, url, headers=headers, content=await request.body())
    except httpx.HTTPError as exc:
        log.warning("the home node of session %s did not answer: %s", session_id, exc)
        raise HTTPException(503, f"the server of session {session_id} did not answer; try again") from None
    keep = {
        k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "location", "cache-control")
    }
    return Response(answer.content, status_code=answer.status_code, headers=keep)
