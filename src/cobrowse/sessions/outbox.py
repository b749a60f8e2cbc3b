"""One writer per socket: a bounded queue of outbound frames drained by a single task.

Nothing else writes to the socket, so frames keep their order and a slow peer only ever delays itself.
Overflow policy: :meth:`Outbox.send` refuses a frame when ``limit`` frames are waiting; the caller decides
what that means (an agent is resynchronised from the log, a visitor is closed with 4429).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque

from starlette.websockets import WebSocket, WebSocketState

log = logging.getLogger("cobrowse.sessions")


class Outbox:
    def __init__(self, ws: WebSocket, limit: int) -> None:
        self.id = uuid.uuid4().hex
        self.ws = ws
        self.limit = limit
        self._frames: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._task: asyncio.Task[None] | None = None
        self.done = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.id[:8]}")

    def send(self, frame: bytes) -> bool:
        """Queue ``frame``; False (and nothing queued) when the queue is full or closing."""
        if self._close is not None or len(self._frames) >= self.limit:
            return False
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
        try:
            while True:
                while self._frames:
                    frame = self._frames.popleft()
                    await self.ws.send({"type": "websocket.send", "text": frame.decode()})
                if self._close is not None:
                    code, reason = self._close
                    if self.ws.application_state is WebSocketState.CONNECTED:
                        await self.ws.close(code, reason)
                    return
                self._wake.clear()
                await self._wake.wait()
        except Exception as exc:  # the peer went away: the reader side notices and cleans up
            log.debug("outbox %s stopped: %r", self.id[:8], exc)
        finally:
            self.done.set()

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
