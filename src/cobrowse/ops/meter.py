"""What the node's sockets do, counted in plain integers by one ASGI middleware (no hook in the relay).

:class:`TrafficMiddleware` sits in the app's middleware stack and sees every WebSocket and HTTP request:

- a socket's role is its path (``/ws/visitor``, ``/ws/agent``, ``/ws/guest``); it counts as open from its
  ``websocket.accept`` until the endpoint returns;
- frames sent to clients: the relay writes past the middleware (:mod:`cobrowse.server` puts the server's
  own ``send`` and ``send_now`` in the scope, see :mod:`cobrowse.sessions.socket_io`), so the middleware
  puts counting wrappers of those two in the scope instead, and counts what goes through its own ``send``
  (greetings, refusals, tunnelled frames);
- frames received from clients, by wrapping ``receive``;
- server-side closes with an error code (protocol refusals, server errors), labelled with the close code and
  the protocol's error code when an ``error`` message preceded the close (``dupkey``, ``forbidden``, ...),
  else the close code's name;
- HTTP responses with status 5xx, and exceptions that escape the app (which become a 500).

Each count is an ``int`` attribute incremented in place: a few tens of nanoseconds per frame, read by the
Prometheus collector (:mod:`.metrics`) only at scrape time. Sizes are UTF-8 bytes (``str.isascii`` is a
flag check in CPython, so ASCII text, almost all of it, is never encoded to be measured).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..protocol.codec import CloseCode
from ..sessions.socket_io import DIRECT_SEND, SEND_NOW

#: Socket roles by path; any other WebSocket path counts as ``other``.
ROLES = {"/ws/visitor": "visitor", "/ws/agent": "agent", "/ws/guest": "guest"}
#: Distinct (code, reason) error labels kept; further ones are counted under reason ``other`` (a bound on the
#: metric's size, whatever the server's future error codes).
MAX_ERROR_LABELS = 200
_CLOSE_NAMES = {
    value: name.lower() for name, value in vars(CloseCode).items() if name.isupper() and isinstance(value, int)
}


class RoleTraffic:
    """Counts of one socket role. Plain attributes: the hot path increments them in place."""

    __slots__ = ("open", "opened", "sent", "sent_bytes", "received", "received_bytes")

    def __init__(self) -> None:
        self.open = 0
        self.opened = 0
        self.sent = 0
        self.sent_bytes = 0
        self.received = 0
        self.received_bytes = 0


class Traffic:
    """Everything :class:`TrafficMiddleware` counts for one app (one node)."""

    def __init__(self) -> None:
        self.roles = {role: RoleTraffic() for role in (*ROLES.values(), "other")}
        #: (close code, reason) -> closes the server initiated with that error code.
        self.socket_errors: dict[tuple[int, str], int] = {}
        #: HTTP status -> responses with that 5xx status (exceptions count as 500).
        self.http_errors: dict[int, int] = {}

    def socket_error(self, code: int, reason: str | None) -> None:
        label = (code, reason or _CLOSE_NAMES.get(code, "unknown"))
        if label not in self.socket_errors and len(self.socket_errors) >= MAX_ERROR_LABELS:
            label = (code, "other")
        self.socket_errors[label] = self.socket_errors.get(label, 0) + 1

    def http_error(self, status: int) -> None:
        self.http_errors[status] = self.http_errors.get(status, 0) + 1


def text_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())


def _message_size(message: MutableMapping[str, Any]) -> int:
    text = message.get("text")
    if text is not None:
        return text_size(text)
    data = message.get("bytes")
    return len(data) if data is not None else 0


def _error_code(text: str) -> str | None:
    """The ``code`` of a protocol ``error`` message (the endpoints send one before a refusal's close)."""
    try:
        code = json.loads(text).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) and len(code) <= 40 else None


class TrafficMiddleware:
    """Pure ASGI middleware counting into ``traffic`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, traffic: Traffic) -> None:
        self.app = app
        self.traffic = traffic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        traffic = self.traffic
        started = False

        async def counted_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 500:
                    traffic.http_error(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counted_send)
        except Exception:
            if not started:  # the error middleware outside answers 500
                traffic.http_error(500)
            raise

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        counts = self.traffic.roles[ROLES.get(scope.get("path", ""), "other")]
        traffic = self.traffic
        accepted = False
        error_code: str | None = None
        scope = dict(scope)
        send_now: Callable[[bytes], bool] | None = scope.get(SEND_NOW)
        direct: Callable[[Message], Awaitable[None]] | None = scope.get(DIRECT_SEND)

        if send_now is not None:

            def counted_send_now(frame: bytes) -> bool:
                if send_now(frame):
                    counts.sent += 1
                    counts.sent_bytes += len(frame)
                    return True
                return False

            scope[SEND_NOW] = counted_send_now

        if direct is not None:

            async def counted_direct(message: Message) -> None:
                await direct(message)
                if message["type"] == "websocket.send":
                    counts.sent += 1
                    counts.sent_bytes += _message_size(message)

            scope[DIRECT_SEND] = counted_direct

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                counts.received += 1
                counts.received_bytes += _message_size(message)
            return message

        async def counted_send(message: Message) -> None:
            nonlocal accepted, error_code
            kind = message["type"]
            if kind == "websocket.send":
                text = message.get("text")
                if text is not None and text.startswith('{"t":"error"'):
                    error_code = _error_code(text)
                await send(message)
                counts.sent += 1
                counts.sent_bytes += _message_size(message)
                return
            if kind == "websocket.close":
                code = int(message.get("code", 1000))
                if code != CloseCode.NORMAL:
                    traffic.socket_error(code, error_code)
            await send(message)
            if kind == "websocket.accept" and not accepted:
                accepted = True
                counts.open += 1
                counts.opened += 1

        try:
            await self.app(scope, counted_receive, counted_send)
        except Exception:
            traffic.socket_error(CloseCode.SERVICE, "exception")  # the server closes the socket with 1011
            raise
        finally:
            if accepted:
                counts.open -= 1
