"""``GET /agent/sso``: sign in with a signed login key (:mod:`cobrowse.sso`, docs/sso.md).

Wrong, expired and replayed keys are refused with a page saying which (status 403), and count as failed
logins from that address for the login throttle. A used key is remembered in the store until it expires,
so it works once, on every node.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import sso
from ..auth import client_address
from ..throttle import LoginThrottle
from .routes import CONSOLE_PATH, SECURITY_HEADERS, local_path


def _refused(msg: str, status: int = 403, headers: dict[str, str] | None = None) -> Response:
    return Response(
        f"Single sign-on refused: {msg}\n",
        status_code=status,
        media_type="text/plain",
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


async def sso_login(request: Request) -> Response:
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request)
    wait = throttle.retry_after(None, address)
    if wait is not None:
        return _refused("too many failed sign-ins; try again later", 429, {"Retry-After": str(wait)})
    store = request.app.state.store
    try:
        key = sso.parse(dict(request.query_params))
        sso.verify(key, await store.sso_secret(key.group_id), time.time())
        agent = await store.find_partner_agent(key.group_id, key.partnerid, key.partneruserid)
        if agent is None:
            raise sso.LoginKeyError(f"no agent of group {key.group_id} has this partnerid and partneruserid")
        if not await store.use_login_key(key.digest, datetime.fromtimestamp(key.expires, UTC)):
            raise sso.LoginKeyError("this login key was used already; a key works only once")
    except sso.LoginKeyError as exc:
        throttle.failed(None, address)
        return _refused(str(exc))
    request.session.clear()
    request.session["agent_id"] = agent.id
    await store.audit("login.sso", agent_id=agent.id, group_id=key.group_id)
    return RedirectResponse(local_path(request.query_params.get("next"), CONSOLE_PATH), status_code=303)
