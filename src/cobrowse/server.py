"""``cobrowse serve``: run the app on uvicorn (uvloop, httptools, websockets) with the configured limits."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import MutableMapping
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn._types import ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request

from .app import create_app
from .config import Config
from .sessions.socket_io import DIRECT_SEND, SEND_NOW
from .socket_deflate import extensions_for
from .socket_dispatch import SocketDispatch

#: Bytes of outgoing frames a socket holds back for one write; at this many they are written at once.
COALESCE_BYTES = 64 * 1024
#: A garbage collection that takes this long is logged (see :class:`GcPauses`).
GC_PAUSE_WARN_S = 0.02
#: The collector's thresholds once the app has started (CPython's are 700, 10, 10). A young collection
#: promotes whatever is alive at that moment, and a relay always has objects in flight (frames queued for
#: a socket, the tasks and messages around them): at 700 allocations per collection, under load, enough of
#: them reached the oldest generation to trigger a full collection every few seconds, each scanning every
#: socket's objects (hundreds of ms at 1,500 sessions) and freeing nothing. Collecting the young
#: generation every 20,000 allocations (about a millisecond each) and the middle one every 20 of those
#: promotes a small fraction of that; cyclic garbage waits a little longer to be freed (a few MB at most).
GC_THRESHOLDS = (20_000, 20, 10)

log = logging.getLogger("cobrowse.server")


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol (websockets, sans-I/O), writing frames in batches.

    Each ``websocket.send`` still becomes a frame in the connection's output at once, but the output is
    written to the socket once per event-loop iteration (or as soon as :data:`COALESCE_BYTES` wait), not
    once per frame: an agent sent several frames in one go (a visitor's batch, a log replay) costs one
    system call instead of one each, and the system call is most of what relaying a frame costs. Everything
    else (accept, close, ping, pong) writes the connection's output as uvicorn does, and websockets keeps one
    output buffer, so frames and control frames stay in order. Flow control is uvicorn's: a send waits while
    the transport's buffer is above its high-water mark.

    It also negotiates permessage-deflate per socket path (:mod:`cobrowse.socket_deflate`: a 32 KiB window
    for what visitors' pages send, small messages and messages to pages sent uncompressed) instead of
    uvicorn's one setting for all.

    Written against uvicorn 0.54 (pinned in pyproject.toml): it uses the protocol's ``conn``,
    ``transport``, ``loop``, ``writable``, ``disconnected``, ``close_sent``, ``handshake_complete``,
    ``initial_response`` and ``handle_connect``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held_bytes = 0
        self._flush_scheduled = False

    def handle_connect(self, event: Request) -> None:
        if self.config.ws_per_message_deflate:
            self.conn.available_extensions = extensions_for(event.path.partition("?")[0])
        super().handle_connect(event)

    async def send(self, message: ASGISendEvent) -> None:
        if (
            message["type"] != "websocket.send"
            or not self.handshake_complete
            or self.close_sent
            or self.initial_response is not None
        ):
            await super().send(message)
            return
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        data, text = message.get("bytes"), message.get("text")
        try:
            if data is not None:
                self.conn.send_binary(data)
                self._held(len(data))
            elif text is not None:
                payload = text.encode()
                self.conn.send_text(payload)
                self._held(len(payload))
        except InvalidState:
            raise ClientDisconnected() from None

    def send_now(self, text: bytes) -> bool:
        """Add a text frame (UTF-8 bytes) to the output without waiting, if the socket takes frames now;
        False if it does not (the peer reads slowly, or the socket is closing): then the caller queues the
        frame and its writer awaits ``send``. Relaying a frame this way needs no task switch, and no text
        conversion either (ASGI's ``send`` wants a str, which websockets encodes again)."""
        if (
            not self.writable.is_set()
            or self.disconnected
            or self.close_sent
            or not self.handshake_complete
            or self.initial_response is not None
        ):
            return False
        try:
            self.conn.send_text(text)
        except InvalidState:
            return False
        self._held(len(text))
        return True

    def _held(self, size: int) -> None:
        self._held_bytes += size
        if self._held_bytes >= COALESCE_BYTES:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._held_bytes = 0
        output = self.conn.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))


class RelayTuning:
    """What the server adds around the app for relaying many frames: two things the app cannot do itself.

    - It puts the server's own ``send`` of each WebSocket in its scope (:data:`DIRECT_SEND`), and the
      protocol's :meth:`CoalescingWebSocketProtocol.send_now` (:data:`SEND_NOW`). The outboxes write relayed
      frames with them, past the middleware stack (the session cookie, error handlers), which acts only on
      HTTP responses: a frame sent to every agent of every session should not pass through four wrappers on
      the way. Everything else (accept, close, HTTP) takes the ordinary path.
    - It takes the app's WebSockets past the framework's layers (:class:`~cobrowse.socket_dispatch.
      SocketDispatch`): fewer objects per connection for the garbage collector to scan.
    - Once the app has started, it moves every object alive then (modules, routes, models, the store's
      engine: some 130,000) out of the garbage collector's reach (``gc.freeze``). They live as long as the
      process anyway; scanning them made each full collection stall every socket for tens of milliseconds.
      Then it sets the collector's thresholds (:data:`GC_THRESHOLDS`) and logs long collections
      (:class:`GcPauses`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = SocketDispatch(app) if isinstance(app, Starlette) else app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[DIRECT_SEND] = send
            protocol = getattr(send, "__self__", None)
            if isinstance(protocol, CoalescingWebSocketProtocol):
                scope[SEND_NOW] = protocol.send_now
        elif scope["type"] == "lifespan":
            send = _freeze_after_startup(send)
        await self.app(scope, receive, send)


def _freeze_after_startup(send: Send) -> Send:
    async def lifespan_send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            GcPauses.install()
        await send(message)

    return lifespan_send


class GcPauses:
    """Logs every garbage collection that stalled the server (every socket) for :data:`GC_PAUSE_WARN_S` or
    more: the one stall no socket metric shows, since it hits all at once. A collection calls it twice
    (start, stop): a clock read each, nothing else."""

    _installed = False

    def __init__(self) -> None:
        self.started = 0.0

    @classmethod
    def install(cls) -> None:
        if not cls._installed:
            cls._installed = True
            gc.callbacks.append(cls().observe)

    def observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        paused = time.perf_counter() - self.started
        if paused >= GC_PAUSE_WARN_S:
            log.warning(
                "garbage collection of generation %d paused the server for %.0f ms (%d objects freed)",
                info.get("generation", -1),
                paused * 1000,
                info.get("collected", 0),
            )


def uvicorn_config(app: ASGIApp, config: Config, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        RelayTuning(app),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws=CoalescingWebSocketProtocol,
        ws_max_size=config.max_message_bytes,
        ws_per_message_deflate=True,
        log_level=config.log_level,
        lifespan="on",
        proxy_headers=True,
    )


def run(config: Config) -> None:
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server = uvicorn.Server(uvicorn_config(create_app(config), config, config.host, config.port))
    server.run()
