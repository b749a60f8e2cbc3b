"""WebSockets to the app's fixed socket paths, past the framework's layers that do nothing for them.

A WebSocket to ``/ws/visitor`` passes, in the FastAPI app, through FastAPI's and Starlette's own layers
(server errors, exception telemetry, body limits, the exit stack, exception handlers, the router matching
the path against every route) before its endpoint runs, and every one of them stays on the stack for the
socket's whole life: some 170 objects per connection that the garbage collector scans at each full
collection (at 1,000 sessions they made full collections pause every socket for 150-340 ms). None of them
acts on a socket whose endpoint handles its own errors and closes.

:class:`SocketDispatch` takes such a socket straight to its endpoint, through the middleware the app itself
added (``app.user_middleware``: the console's session cookie, traffic counts), rebuilt around the endpoints
once, in the order the app would run them. Every other request (HTTP, other socket paths, a path under a
``root_path``) goes to the app as before. Which paths: the app's :class:`~starlette.routing.WebSocketRoute`
routes with a fixed path and a function endpoint (route-level middleware is not supported: the app uses
none), read from the app at the first socket (routes and middleware are complete by then).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

Endpoint = Callable[[WebSocket], Awaitable[None]]


class SocketDispatch:
    def __init__(self, app: Starlette) -> None:
        self.app = app
        self._endpoints: dict[str, Endpoint] | None = None
        self._lean: ASGIApp | None = None

    def routes(self) -> dict[str, Endpoint]:
        """Path -> endpoint of the sockets taken past the framework's layers."""
        if self._endpoints is None:
            self._endpoints = {
                route.path: route.endpoint
                for route in self.app.router.routes
                if isinstance(route, WebSocketRoute)
                and "{" not in route.path
                and inspect.isfunction(route.endpoint)
            }
            lean: ASGIApp = self._run_endpoint
            for cls, args, kwargs in reversed(self.app.user_middleware):
                lean = cls(lean, *args, **kwargs)
            self._lean = lean
        return self._endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not scope.get("root_path") and scope["path"] in self.routes():
            scope["app"] = self.app  # what Starlette sets: the endpoints find the runtime in app.state
            assert self._lean is not None
            await self._lean(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _run_endpoint(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self._endpoints is not None
        await self._endpoints[scope["path"]](WebSocket(scope, receive=receive, send=send))
