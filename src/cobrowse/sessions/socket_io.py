"""Small helpers shared by the visitor and agent endpoints: reading frames, refusing with a close code."""

from __future__ import annotations

import asyncio

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..protocol import messages as m
from ..protocol.codec import CloseCode, ProtocolError, encode

#: Time a new socket has to say who it is (start, resume or join).
HELLO_TIMEOUT = 10.0

#: Scope key of the server's own WebSocket ``send``, past the middleware (set by :mod:`cobrowse.server`).
DIRECT_SEND = "cobrowse.direct_send"
#: Scope key of ``send_now(frame: bytes) -> bool``: hand a text frame (UTF-8 bytes) to the socket without
#: waiting, or say it cannot be taken now (set by :mod:`cobrowse.server` when its protocol offers it).
SEND_NOW = "cobrowse.send_now"


async def receive_frame(ws: WebSocket) -> bytes | str:
    """The next text or binary frame; raises WebSocketDisconnect when the peer has gone."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is not None:
        return str(text)
    data = bytes(message.get("bytes") or b"")
    try:
        data.decode("utf-8")  # relayed to agents as a text frame: it must be UTF-8 like one
    except UnicodeDecodeError:
        raise ProtocolError(CloseCode.MALFORMED, "malformed", "a frame must be UTF-8 JSON text") from None
    return data


async def receive_hello(ws: WebSocket) -> bytes | str:
    try:
        return await asyncio.wait_for(receive_frame(ws), HELLO_TIMEOUT)
    except TimeoutError:
        raise ProtocolError(CloseCode.TIMEOUT, "timeout", f"no hello within {HELLO_TIMEOUT:.0f} s") from None


def as_bytes(frame: bytes | str) -> bytes:
    return frame.encode() if isinstance(frame, str) else frame


async def refuse(ws: WebSocket, error: ProtocolError) -> None:
    """Tell the peer why in an ``error`` message, then close with the error's close code."""
    if ws.application_state is not WebSocketState.CONNECTED:
        return
    try:
        if error.code == "ended":
            await ws.send_text(encode(m.Ended(reason=error.msg)).decode())
        else:
            await ws.send_text(encode(m.Error(code=error.code, msg=error.msg)).decode())
        await ws.close(error.close_code, error.msg[:120])
    except Exception:  # the peer is already gone
        pass


def check_events_payload(ev: m.Events) -> None:
    """``data`` must be a JSON array of rrweb events; looking at its first byte is enough here."""
    head = bytes(memoryview(ev.data)[:1])
    if head != b"[":
        raise ProtocolError(CloseCode.MALFORMED, "malformed", "events.data must be an array of events")
