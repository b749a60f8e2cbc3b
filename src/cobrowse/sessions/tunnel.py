"""A client's socket carried to the session's home node (see :mod:`.cluster`).

The entry node has read the socket's first message (it names the session); it opens a WebSocket to the same
path on the home node, sends that message first, then moves frames both ways unchanged until either side
closes, and passes the close code on. The home sees the browser's Origin, cookies and address (forwarded
headers), so it authorises exactly as if the browser had reached it directly.

Back-pressure instead of queues: each direction awaits its write before reading the next frame, so a slow
browser slows the home's writes to the tunnel, and the home's own bounded queues and resync policy apply
(an agent that stops reading is resynchronised from the log; a page that stops reading is closed).

When the home dies the tunnel drops: the browser's socket is closed with 1012 (service restart) and the
client reconnects, reaching a node that becomes the session's new home.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from .cluster import Cluster, NoHome
from .socket_io import receive_frame

log = logging.getLogger("cobrowse.cluster")

#: RFC 6455 "service restart": the client should reconnect (it will reach a live node).
SERVICE_RESTART = 1012
#: Time to open the tunnel to the home node.
OPEN_TIMEOUT = 5.0
#: Request headers passed on to the home (the browser's identity and what it asked for).
FORWARDED = ("cookie", "authorization", "user-agent", "accept-language")


def _ws_url(base: str, path: str) -> str:
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + path
    if base.startswith("http://"):
        return "ws://" + base.removeprefix("http://") + path
    return base + path


def _headers(ws: WebSocket, extra: dict[str, str]) -> dict[str, str]:
    headers = {name: ws.headers[name] for name in FORWARDED if name in ws.headers}
    client = ws.client.host if ws.client else ""
    prior = ws.headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{prior}, {client}" if prior and client else (prior or client)
    headers["x-forwarded-host"] = ws.headers.get("host", "")
    headers.update(extra)
    return headers


async def carried_home(
    ws: WebSocket, cluster: Cluster, session_id: int, first: bytes | str, max_size: int
) -> bool:
    """If another node is the home of ``session_id``, carry the accepted socket ``ws`` (whose first frame
    was ``first``) there until it closes, and return True; False if this node is the home (serve it here).

    A socket that already came through a tunnel is never carried again: if its home moved meanwhile, it is
    closed with 1012 and the client reconnects."""
    try:
        base_url = await cluster.home_url(session_id)
    except NoHome as exc:
        await _close(ws, SERVICE_RESTART, str(exc))
        return True
    if base_url is None:
        return False
    if cluster.tunnelled(ws.headers):
        await _close(ws, SERVICE_RESTART, "the session moved to another server: reconnect")
        return True
    await tunnel(ws, base_url, first, cluster.tunnel_headers(), max_size)
    return True


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code, reason[:120])


async def tunnel(
    ws: WebSocket, base_url: str, first: bytes | str, headers: dict[str, str], max_size: int
) -> None:
    """Carry the accepted socket ``ws`` (whose first frame was ``first``) to ``base_url`` + the same path;
    if the home cannot be reached, close ``ws`` with 1012 so that the client tries again."""
    url = _ws_url(base_url, ws.url.path)
    try:
        upstream = await connect(
            url,
            additional_headers=_headers(ws, headers),
            origin=ws.headers.get("origin"),  # type: ignore[arg-type]
            compression=None,  # node to node: bytes are cheap, CPU is not
            max_size=max_size,
            open_timeout=OPEN_TIMEOUT,
            user_agent_header=None,
        )
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
        log.warning("cannot reach the home node at %s: %s", url, exc)
        await _close(ws, SERVICE_RESTART, "the session's server is restarting: reconnect")
        return
    try:
        await upstream.send(first)
        await _pump(ws, upstream)
    finally:
        await upstream.close()


async def _pump(ws: WebSocket, upstream: ClientConnection) -> None:
    async def up() -> None:
        while True:
            await upstream.send(await receive_frame(ws))

    async def down() -> None:
        async for message in upstream:
            if isinstance(message, str):
                await ws.send_text(message)
            else:
                await ws.send_bytes(message)

    ups = asyncio.create_task(up(), name="tunnel-up")
    downs = asyncio.create_task(down(), name="tunnel-down")
    try:
        done, _ = await asyncio.wait({ups, downs}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (ups, downs):
            task.cancel()
        await asyncio.gather(ups, downs, return_exceptions=True)
    if downs in done:  # the home closed (or died): pass its close on, or ask the client to reconnect
        code, reason = SERVICE_RESTART, "the session's server went away: reconnect"
        rcvd = upstream.protocol.close_rcvd
        if rcvd is not None and rcvd.code not in (1005, 1006):
            code, reason = rcvd.code, rcvd.reason
        await _close(ws, code, reason)
        return
    exc = ups.exception() if not ups.cancelled() else None
    if exc is not None and not isinstance(exc, WebSocketDisconnect | ConnectionClosed):
        raise exc
