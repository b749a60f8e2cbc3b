"""Who is calling: the agent behind a console login cookie, and a guard against cross-site requests.

The console cookie is Starlette's signed session cookie (``cobrowse_console``: httpOnly, SameSite=Lax),
holding only the agent's id. Requests that change state must come from the server's own origin.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from .store.records import Agent

COOKIE_NAME = "cobrowse_console"


async def current_agent(conn: HTTPConnection) -> Agent | None:
    """The logged-in agent of a request or WebSocket, or None."""
    if "session" not in conn.scope:
        return None
    agent_id = conn.session.get("agent_id")
    if not isinstance(agent_id, int):
        return None
    agent: Agent | None = await conn.app.state.store.get_agent(agent_id)
    return agent


def same_origin(conn: HTTPConnection) -> bool:
    """True unless the request carries an Origin header naming another site (a cross-site form post)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    host = conn.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")
