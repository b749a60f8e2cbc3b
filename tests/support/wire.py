"""Speaking the wire protocol from tests: send a message, wait for one of a type, wait for the close.

Raw WebSocket clients (``websockets``) stand in for visitor pages and agent consoles in the socket tests, so that
each test controls every frame and can send what no honest client would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed


async def send(ws: ClientConnection, **msg: Any) -> None:
    """Send ``msg`` as a protocol v1 message (``t`` and the fields as keyword arguments)."""
    await ws.send(json.dumps({"v": 1, **msg}))


async def recv_type(ws: ClientConnection, t: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message of type ``t`` (others are skipped); TimeoutError if none comes within ``timeout``."""
    while True:
        msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["t"] == t:
            return msg


async def closed_with(ws: ClientConnection, timeout: float = 5.0) -> tuple[int | None, str]:
    """Read until the server closes the socket: its close code and reason (None, "" if it sent none)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed as exc:
        return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")
