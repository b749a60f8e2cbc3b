"""SocketDispatch: sockets to the app's fixed paths reach their endpoint through the app's own middleware
only, past the framework's layers; everything else goes through the whole app."""

from __future__ import annotations

import json
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from cobrowse import socket_dispatch

#: Set by Starlette's ExceptionMiddleware, the innermost of the framework's layers.
FRAMEWORK_KEY = "starlette.exception_handlers"


class Tagging:
    """An app middleware: marks what it saw, as the session cookie and traffic middleware act on sockets."""

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            self.seen.append(f"{scope['type']} {scope['path']}")
            scope["tagged"] = True
        await self.app(scope, receive, send)


def make_app(seen: list[str]) -> Starlette:
    async def describe(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json(
            {
                "framework": FRAMEWORK_KEY in ws.scope,
                "tagged": ws.scope.get("tagged", False),
                "app": ws.app is app,
                "param": ws.path_params.get("room"),
            }
        )
        await ws.close()

    async def hello(_: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = Starlette(
        routes=[
            WebSocketRoute("/ws/fixed", describe),
            WebSocketRoute("/ws/room/{room}", describe),
            Route("/hello", hello),
        ],
        middleware=[Middleware(Tagging, seen=seen)],
    )
    return app


async def socket_reply(app: ASGIApp, path: str) -> Any:
    """Open a WebSocket to ``path`` on ``app`` (plain ASGI calls) and return the JSON it sends."""
    incoming: list[Message] = [{"type": "websocket.connect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "websocket", "path": path, "root_path": "", "headers": [], "query_string": b""}
    await app(scope, receive, send)
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    return json.loads(sent[1]["text"])


async def test_a_socket_to_a_fixed_path_skips_the_framework_layers_but_not_the_app_middleware() -> None:
    seen: list[str] = []
    reply = await socket_reply(socket_dispatch.SocketDispatch(make_app(seen)), "/ws/fixed")
    assert reply == {"framework": False, "tagged": True, "app": True, "param": None}
    assert seen == ["websocket /ws/fixed"]


async def test_other_sockets_and_http_go_through_the_whole_app() -> None:
    seen: list[str] = []
    dispatch = socket_dispatch.SocketDispatch(make_app(seen))
    reply = await socket_reply(dispatch, "/ws/room/7")
    assert reply == {"framework": True, "tagged": True, "app": True, "param": "7"}
    transport = httpx.ASGITransport(app=dispatch)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/hello")).text == "hello"
        assert (await client.get("/nowhere")).status_code == 404
    assert seen == ["websocket /ws/room/7", "http /hello", "http /nowhere"]
