"""The ASGI application: REST API, WebSocket endpoints, agent console and static bundles on one app.

``create_app`` wires the parts chosen by configuration (store URL, broker URL) and owns their lifecycle.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, WebSocketRoute

from . import __version__
from .api.agents import router as agents_router
from .api.group_admin import router as group_admin_router
from .api.groups import router as groups_router
from .api.tokens import router as tokens_router
from .api.v1 import router as api_router
from .auth import COOKIE_NAME
from .broker import create_broker
from .config import Config, ensure_secret
from .console.routes import console_routes
from .ops import Operations
from .sessions.agent_endpoint import agent_endpoint, guest_endpoint
from .sessions.runtime import SessionRuntime
from .sessions.visitor_endpoint import visitor_endpoint
from .static_files import PublicStaticFiles
from .store import Store
from .throttle import LoginThrottle

log = logging.getLogger("cobrowse")
STATIC_DIR = Path(__file__).parent / "static"


def create_app(config: Config, store: Store | None = None) -> FastAPI:
    """Build the server. Pass ``store`` to share an open one (the demo seeds it first)."""
    config = ensure_secret(config)
    broker = create_broker(config.broker_url)
    ops = Operations(config)  # /healthz, /readyz, /metrics, traffic counters, drain state

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal store
        own_store = store is None
        if store is None:
            store = await Store.open(config.effective_database_url)
        if config.auto_migrate:
            await store.upgrade()
        await broker.connect()
        runtime = SessionRuntime(config, broker, store)
        if config.broker_url.startswith("memory://"):
            # one node: the sessions an earlier run left open continue here (their pages reconnect)
            restored = await runtime.restore_open_sessions()
            if restored:
                log.info("continuing %d sessions left open by an earlier run", restored)
        await runtime.start()
        app.state.store = store
        app.state.runtime = runtime
        await ops.start(store, runtime)
        try:
            yield
        finally:
            await ops.stop()
            await runtime.stop()
            await broker.disconnect()
            if own_store:
                await store.close()

    app = FastAPI(
        title="cobrowse",
        version=__version__,
        description="Session server of cobrowse. WebSocket protocol: docs/protocol.md.",
        docs_url=None,  # served below from our own static files, not a CDN
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.login_throttle = LoginThrottle()
    app.include_router(api_router)
    app.include_router(groups_router)
    app.include_router(group_admin_router)
    app.include_router(agents_router)
    app.include_router(tokens_router)

    @app.get("/api/v1/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="cobrowse REST API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="data:,",
        )

    app.router.routes.extend(
        [
            WebSocketRoute("/ws/visitor", visitor_endpoint),
            WebSocketRoute("/ws/agent", agent_endpoint),
            WebSocketRoute("/ws/guest", guest_endpoint),
            *console_routes(),
            Mount("/static", PublicStaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
        ]
    )
    ops.install(app)
    app.add_middleware(
        SessionMiddleware,
        secret_key=config.secret_key,
        session_cookie=COOKIE_NAME,
        same_site="lax",
        https_only=config.effective_public_url.startswith("https://"),
        max_age=12 * 3600,
    )
    return app
