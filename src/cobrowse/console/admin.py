"""GET /agent/admin: the console's administration page (agents, permissions, group settings, masking rules).

The page itself is static HTML plus its own bundle (static/admin.js, web/agent/admin.ts), which does all its
work through the REST API (``/api/v1``) with the console cookie, so every change is authorised and audited by
the API exactly as for a script with a token; the page adds no second way to change anything. It is served
only to administrators (others get 403, not a page whose every request would fail) with the same
Content-Security-Policy and headers as every console page.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..auth import current_agent
from .routes import LOGIN_PATH, SECURITY_HEADERS, _render

ADMIN_PATH = "/agent/admin"
NOT_ADMIN = "Only administrators may open this page (the admin permission).\n"


async def admin_page(request: Request) -> Response:
    """GET /agent/admin: the admin page; sign in first if needed; 403 for an agent who is not an admin."""
    agent = await current_agent(request)
    if agent is None:
        return RedirectResponse(f"{LOGIN_PATH}?next={quote(ADMIN_PATH, safe='/')}", status_code=303)
    if not agent.is_admin:
        return Response(NOT_ADMIN, status_code=403, media_type="text/plain", headers=SECURITY_HEADERS)
    return _render("admin.html", agent_name=agent.name or agent.username, username=agent.username)
