"""The agent console's pages: sign in, sign out, and the console itself (the live view is static/agent.js).

Pages are plain HTML files in ``pages/`` with ``string.Template`` placeholders (``$name``) that are filled
with HTML-escaped values only. Every page carries a strict Content-Security-Policy: the console shows
another site's page (rebuilt by rrweb in a sandboxed iframe, which inherits this policy), so the policy is the
second wall behind the sandbox: no script but our own bundle, no plugins, no framing by others, forms only to
us. Styles and images are open because the replayed page needs them (see ``CONSOLE_CSP``).

The login cookie is Starlette's session cookie (installed by ``create_app``); a login stores only the agent's
id in it. Form posts must come from the server's own origin (``auth.same_origin``), and a failed login says
the same thing whether or not the username exists.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..api.at_home import answered_at_home
from ..auth import client_address, current_agent, same_origin
from ..sessions.cross_domain import session_of_token
from ..store.records import Agent
from ..throttle import LoginThrottle

PAGES_DIR = Path(__file__).resolve().parent / "pages"

#: The policy of every console page. ``style-src`` allows inline styles (rrweb rebuilds the visitor's
#: stylesheets as ``<style>`` elements and style attributes) and any http(s) origin (stylesheets the
#: recorder could not inline, for example from a CDN without CORS, stay ``<link>`` elements to their origin).
#: Images, fonts and media of the visitor's page come from anywhere. ``connect-src`` allows the agent
#: WebSocket. ``frame-src 'self'`` covers rrweb's about:blank replay iframe. Scripts: our bundle only.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline' http: https:; "
    "img-src * data: blob:; font-src * data:; media-src * data: blob:; connect-src 'self' ws: wss:; "
    "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)

#: ``same-origin``, not ``no-referrer``: under ``no-referrer`` Chromium sends ``Origin: null`` with a form post,
#: which the cross-site guard must refuse, so the sign-in and sign-out forms would never work. ``same-origin``
#: sends no referrer to any other origin (the visitor's site, whose images the replay loads) either.
REFERRER_POLICY = "same-origin"

SECURITY_HEADERS = {
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": REFERRER_POLICY,
}
_PAGE_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}

LOGIN_PATH = "/agent/login"
CONSOLE_PATH = "/agent/"
LOGIN_FAILED = "Wrong username or password."
LOGIN_THROTTLED = "Too many failed sign-ins. Wait a few minutes, then try again."
#: Longest username and password read from the form; longer input is a failed login, not an error page.
_MAX_FIELD = 1024


@cache
def _template(name: str) -> Template:
    return Template((PAGES_DIR / name).read_text(encoding="utf-8"))


def _render(name: str, status_code: int = 200, **values: str) -> HTMLResponse:
    """Fill a page's placeholders with escaped values (``safe_substitute`` leaves ``$`` elsewhere alone)."""
    body = _template(name).safe_substitute({k: html.escape(v, quote=True) for k, v in values.items()})
    return HTMLResponse(body, status_code=status_code, headers=_PAGE_HEADERS)


def local_path(target: str | None, default: str = CONSOLE_PATH) -> str:
    """``target`` if it is a path on this server (``/...``), else ``default``: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in target):
        return default
    return target


def _login_action(next_path: str) -> str:
    if next_path == CONSOLE_PATH:
        return LOGIN_PATH
    return f"{LOGIN_PATH}?next={quote(next_path, safe='/')}"


def _login_page(
    request: Request, *, error: str = "", username: str = "", status_code: int = 200
) -> HTMLResponse:
    next_path = local_path(request.query_params.get("next"))
    return _render(
        "login.html",
        status_code,
        action=_login_action(next_path),
        error=error,
        error_hidden="" if error else "hidden",
        username=username,
    )


def _forbidden() -> Response:
    return Response(
        "Cross-site request refused: this form must be sent from the server's own pages.\n",
        status_code=403,
        media_type="text/plain",
        headers=SECURITY_HEADERS,
    )


async def login_form(request: Request) -> Response:
    """GET /agent/login: the sign-in form (straight to the console if already signed in)."""
    if await current_agent(request) is not None:
        return RedirectResponse(local_path(request.query_params.get("next")), status_code=303)
    return _login_page(request)


async def login_submit(request: Request) -> Response:
    """POST /agent/login: check the credentials; 303 to ``next`` (a local path) or the console."""
    if not same_origin(request):
        return _forbidden()
    form = await request.form()
    username = form.get("username")
    password = form.get("password")
    username = username.strip() if isinstance(username, str) else ""
    password = password if isinstance(password, str) else ""
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request)
    wait = throttle.retry_after(username[:_MAX_FIELD], address)
    if wait is not None:  # refused before the password is even looked at: guessing learns nothing
        page = _login_page(request, error=LOGIN_THROTTLED, username=username[:_MAX_FIELD], status_code=429)
        page.headers["Retry-After"] = str(wait)
        return page
    agent: Agent | None = None
    if username and password and len(username) <= _MAX_FIELD and len(password) <= _MAX_FIELD:
        agent = await request.app.state.store.authenticate(username, password)
    if agent is None:
        throttle.failed(username[:_MAX_FIELD], address)
        return _login_page(request, error=LOGIN_FAILED, username=username[:_MAX_FIELD], status_code=401)
    throttle.succeeded(username)
    request.session.clear()
    request.session["agent_id"] = agent.id
    return RedirectResponse(local_path(request.query_params.get("next")), status_code=303)


async def logout(request: Request) -> Response:
    """POST /agent/logout: forget the login; back to the sign-in form."""
    if not same_origin(request):
        return _forbidden()
    request.session.clear()
    return RedirectResponse(LOGIN_PATH, status_code=303)


async def console_page(request: Request) -> Response:
    """GET /agent/: the console; sign in first if needed (and come back here, with the same query)."""
    agent = await current_agent(request)
    if agent is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{LOGIN_PATH}?next={quote(here, safe='/')}", status_code=303)
    return _render(
        "console.html",
        agent_name=agent.name or agent.username,
        username=agent.username,
        admin_hidden="" if agent.is_admin else "hidden",
    )


async def guest_page(request: Request) -> Response:
    """GET /guest/{token}: the console for an invited guest (no login); 404 with a clear message if the
    link is unknown, used or expired. The token is spent only when the guest asks to join."""
    token = str(request.path_params["token"])
    runtime = request.app.state.runtime
    session_id = session_of_token(token)
    if session_id is not None and (answer := await answered_at_home(request, runtime, session_id)):
        return answer
    if runtime.invitations.peek(token) is None:
        return _render(
            "guest.html",
            status_code=404,
            token="",
            error="This guest link is not valid, has expired, or has already been used.",
        )
    return _render("guest.html", token=token, error="")


async def stylesheet(request: Request) -> Response:
    """GET /agent/console.css: the console's own styles (hand-written, shipped in the package)."""
    return Response(
        (PAGES_DIR / "console.css").read_bytes(),
        media_type="text/css",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


async def _admin_page(request: Request) -> Response:
    """GET /agent/admin: the administration page (console/admin.py)."""
    from .admin import admin_page  # console/admin.py builds on this module

    return await admin_page(request)


async def _sso_login(request: Request) -> Response:
    """GET /agent/sso: sign in with a signed login key (console/sso.py)."""
    from .sso import sso_login  # console/sso.py builds on this module

    return await sso_login(request)


def console_routes() -> list[BaseRoute]:
    """The console's routes, to be added to the server's app (which installs SessionMiddleware)."""
    return [
        Route(LOGIN_PATH, login_form, methods=["GET"]),
        Route(LOGIN_PATH, login_submit, methods=["POST"]),
        Route("/agent/sso", _sso_login, methods=["GET"]),
        Route("/agent/logout", logout, methods=["POST"]),
        Route(CONSOLE_PATH, console_page, methods=["GET"]),
        Route("/agent/admin", _admin_page, methods=["GET"]),
        Route("/agent/console.css", stylesheet, methods=["GET"]),
        Route("/guest/{token}", guest_page, methods=["GET"]),
    ]
