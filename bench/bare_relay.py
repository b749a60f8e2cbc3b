"""The baseline: the thinnest relay on the same server stack (uvicorn + Starlette, websockets, uvloop).

Each WebSocket joins a room named in the path; every frame is forwarded to the room's other sockets, and
nothing else happens (no protocol, no checks, no log). cobrowse's relay is measured against this.
Run: python bench/bare_relay.py PORT
"""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

rooms: defaultdict[str, set[asyncio.Queue[str]]] = defaultdict(set)


async def relay(ws: WebSocket) -> None:
    await ws.accept()
    room = rooms[ws.path_params["room"]]
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1024)
    room.add(queue)

    async def writer() -> None:
        while True:
            await ws.send_text(await queue.get())

    task = asyncio.create_task(writer())
    try:
        while True:
            frame = await ws.receive_text()
            for other in room:
                if other is not queue and not other.full():
                    other.put_nowait(frame)
    except WebSocketDisconnect:
        pass
    finally:
        room.discard(queue)
        task.cancel()


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[WebSocketRoute("/ws/room/{room}", relay), Route("/health", health)])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=16 * 1024 * 1024,
        log_level="warning",
    )
