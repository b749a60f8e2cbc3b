"""One writer per socket: a bounded queue of outbound frames drained by a single task.

Nothing else writes to the socket, so frames keep their order and a slow peer only ever delays itself.
Overflow policy: :meth:`Outbox.send` refuses a frame when ``limit`` frames are waiting; the caller decides
what that means (an agent is resynchronised from the log, a visitor is closed with 4429). Frames queued by
:meth:`Outbox.replace` (a resynchronisation) do not count against ``limit``: their own bound is the log's.

Two short cuts when the server offers them (see :mod:`cobrowse.server`): while nothing is queued or being
written, :meth:`Outbox.send` hands the frame to the socket at once (:data:`~.socket_io.SEND_NOW`), with no
queue, no task switch and no text conversion; and the writer task writes with the server's own ``send``
(:data:`~.socket_io.DIRECT_SEND`), past the middleware, which acts on HTTP responses only. The queue and
the writer take over whenever the socket cannot take a frame at once (flow control: the peer reads slowly).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocket, WebSocketState

from .socket_io import DIRECT_SEND, SEND_NOW

log = logging.getLogger("cobrowse.sessions")


class Outbox:
    def __init__(self, ws: WebSocket, limit: int) -> None:
        self.id = uuid.uuid4().hex
        self.ws = ws
        self.limit = limit
        self._frames: deque[bytes] = deque()
        self._replayed = 0  # frames at the head of the queue that came from replace()
        self._wake = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._drained: Callable[[], Awaitable[None]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = True  # the writer is writing (or not started): frames must queue behind it
        self._send_now: Callable[[bytes], bool] | None = ws.scope.get(SEND_NOW)
        self.done = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.id[:8]}")

    def send(self, frame: bytes) -> bool:
        """Queue ``frame``; False (and nothing queued) when ``limit`` frames wait or the outbox is closing."""
        if self._close is not None or len(self._frames) - self._replayed >= self.limit:
            return False
        if not self._busy and not self._frames and self._send_now is not None and self._send_now(frame):
            return True
        self._frames.append(frame)
        self._wake.set()
        return True

    def replace(self, frames: list[bytes]) -> None:
        """Drop everything queued and queue ``frames`` instead (a resynchronisation; not bounded by
        ``limit``, the log it comes from is bounded by ``log_max_bytes``)."""
        if self._close is not None:
            return
        self._frames.clear()
        self._frames.extend(frames)
        self._replayed = len(frames)
        self._wake.set()

    def when_drained(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Have the writer await ``hook`` once, as soon as everything queued has been handed to the socket
        (at once if nothing is). A peer that stopped reading keeps the writer waiting, so the hook runs when
        the peer can take more, not before."""
        self._drained = hook
        self._wake.set()

    def close(self, code: int, reason: str = "") -> None:
        """Close the socket once the frames already queued are sent."""
        if self._close is None:
            self._close = (code, reason[:120])
            self._wake.set()

    @property
    def closing(self) -> bool:
        return self._close is not None

    async def _run(self) -> None:
        send = self.ws.scope.get(DIRECT_SEND) or self.ws.send
        send_now = self._send_now
        frames = self._frames
        try:
            while True:
                self._busy = True
                while frames:
                    frame = frames.popleft()
                    if self._replayed:
                        self._replayed -= 1
                    if send_now is None or not send_now(frame):
                        await send({"type": "websocket.send", "text": frame.decode()})
                if self._close is not None:
                    code, reason = self._close
                    if self.ws.application_state is WebSocketState.CONNECTED:
                        await self.ws.close(code, reason)
                    return
                if self._drained is not None:
                    hook, self._drained = self._drained, None
                    try:
                        await hook()
                    except Exception:
                        log.exception("outbox %s: the drained hook failed", self.id[:8])
                    continue
                self._wake.clear()
                self._busy = False
                await self._wake.wait()
        except Exception as exc:  # the peer went away: the reader side notices and cleans up
            log.debug("outbox %s stopped: %r", self.id[:8], exc)
        finally:
            self._busy = True
            self.done.set()

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
