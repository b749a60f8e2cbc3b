"""Who is calling: the agent behind an API token or a console login cookie; guards against cross-site requests.

The console cookie is Starlette's signed session cookie (``cobrowse_console``: httpOnly, SameSite=Lax),
holding only the agent's id. A partner system calls the REST API with ``Authorization: Bearer <token>``
(tokens from ``cobrowse token create`` or ``POST /api/v1/tokens``). Requests that change state must come
from the server's own origin (CSRF) unless they carry a token: a browser never adds a Bearer header by itself,
so a token request cannot be forged by another site.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from .store.records import Agent

COOKIE_NAME = "cobrowse_console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(conn: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if there is one."""
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def current_agent(conn: HTTPConnection) -> Agent | None:
    """The calling agent: by its API token if the request has one (a bad token is no one), else by cookie."""
    store = conn.app.state.store
    token = bearer_token(conn)
    if token is not None:
        by_token: Agent | None = await store.agent_for_token(token)
        return by_token
    if "session" not in conn.scope:
        return None
    agent_id = conn.session.get("agent_id")
    if not isinstance(agent_id, int):
        return None
    agent: Agent | None = await store.get_agent(agent_id)
    return agent


def same_origin(conn: HTTPConnection) -> bool:
    """True unless the request carries an Origin header naming another site (a cross-site form post)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    host = conn.headers.get("host", "")
    runtime = getattr(conn.app.state, "runtime", None)
    if runtime is not None and runtime.cluster.tunnelled(conn.headers):
        # passed on by another node of the cluster: the host the browser used is the one that node saw
        host = conn.headers.get("x-forwarded-host", "")
    return origin in (f"http://{host}", f"https://{host}")


def csrf_safe(conn: HTTPConnection, method: str) -> bool:
    """Whether a request may change state: a safe method, a Bearer token, or the server's own origin."""
    return method.upper() in SAFE_METHODS or bearer_token(conn) is not None or same_origin(conn)


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"
