"""Hostile frames against a live server: visitor, agent and guest sockets, as the first message and mid-session.

For each generated frame the server either answers with a close code of docs/protocol.md (never 1011, never
a dropped connection) or carries on (proved by a request it must answer after it). Meanwhile a well-behaved
*witness* session on the same server (group 1, its own agent) keeps working, and its agent receives exactly
the witness visitor's frames, byte for byte, and nothing else. The hostile sessions live in group 2 with an
agent of group 2 only, so no hostile client can even name the witness's session.

One server and one event loop (in a thread) serve the whole module; each example opens fresh sockets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from support.live_server import LiveServer

T = TypeVar("T")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
WITNESS_KEY = "witness-Zq8-never-guessed"
PROBE_ID = 987_654_321
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))


def documented_close_codes() -> set[int]:
    table = DOCS.read_text().split("## Error codes and close codes", 1)[1]
    import re

    return {int(code) for code in re.findall(r"^\| (\d{4}) \|", table, flags=re.M)} - {1011}


#: A refusal the protocol documents, or a normal close (``stop``, ``leave``, ``end``). 1011 is a server fault.
ALLOWED_CLOSES = documented_close_codes() | {1000}


# ---- one event loop for the module's sockets --------------------------------------------------------------


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class ErrorLog(logging.Handler):
    """Every ERROR the server logs while the module runs (a traceback means it did not refuse cleanly)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# ---- the well-behaved witness session -----------------------------------------------------------------------


class Witness:
    """A visitor and its agent in group 1. ``round()`` sends one frame and checks it is the very next thing
    the agent receives: a frame of another session (or anything else) arriving there fails the test."""

    def __init__(self, visitor: ClientConnection, agent: ClientConnection) -> None:
        self.visitor, self.agent = visitor, agent
        self.seq = 1

    async def round(self) -> None:
        self.seq += 1
        frame = json.dumps(
            {"v": 1, "t": "events", "seq": self.seq, "epoch": 1, "snapshot": False, "data": [{"n": self.seq}]}
        )
        await self.visitor.send(frame)
        assert await asyncio.wait_for(self.agent.recv(), 10) == frame


async def _open_witness(server: LiveServer, cookie: str) -> Witness:
    visitor = await _visitor(server, group=1, key=WITNESS_KEY)
    await visitor.send(_events(1, snapshot=True))
    agent = await connect(server.ws + "/ws/agent", additional_headers={"Cookie": cookie}, max_size=None)
    await agent.send(json.dumps({"v": 1, "t": "join", "key": WITNESS_KEY, "group": 1}))
    assert json.loads(await agent.recv())["t"] == "joined"
    assert json.loads(await agent.recv()) == json.loads(_events(1, snapshot=True))
    assert json.loads(await agent.recv())["t"] == "agents"
    assert (await _recv_type(visitor, "agents"))["count"] == 1
    return Witness(visitor, agent)


@pytest.fixture(scope="module")
def arena(live_server: LiveServer) -> Iterator[tuple[LiveServer, LoopThread, Witness, ErrorLog]]:
    loop = LoopThread()
    errors = ErrorLog()
    logging.getLogger("cobrowse").addHandler(errors)
    witness = loop.run(_open_witness(live_server, live_server.login()))
    try:
        yield live_server, loop, witness, errors
        loop.run(witness.round())
    finally:
        logging.getLogger("cobrowse").removeHandler(errors)
        loop.run(witness.visitor.close())
        loop.run(witness.agent.close())
        loop.stop()


@pytest.fixture(scope="module")
def other_cookie(live_server: LiveServer) -> str:
    return live_server.login("other", "other-password")


# ---- wire helpers -----------------------------------------------------------------------------------------


def _events(seq: int, snapshot: bool = False) -> str:
    return json.dumps(
        {"v": 1, "t": "events", "seq": seq, "epoch": 1, "snapshot": snapshot, "data": [{"s": seq}]}
    )


async def _visitor(server: LiveServer, group: int = 2, key: str | None = None) -> ClientConnection:
    """A started visitor page; its session's key and id are kept in ``STARTED``."""
    ws = await connect(server.ws + "/ws/visitor", max_size=None)
    await ws.send(
        json.dumps({"v": 1, "t": "start", "group": group, "key": key, "page": {"url": "https://h/"}})
    )
    started = await _recv(ws)
    assert started["t"] == "started"
    STARTED[ws] = started
    return ws


STARTED: dict[ClientConnection, dict[str, Any]] = {}


async def _recv(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return msg


async def _recv_type(ws: ClientConnection, t: str) -> dict[str, Any]:
    while (msg := await _recv(ws))["t"] != t:
        pass
    return msg


async def _outcome(ws: ClientConnection, answered: Callable[[dict[str, Any]], bool]) -> int | None:
    """Read until the probe's answer (None: the socket carries on) or the close (its code)."""
    try:
        while not answered(await _recv(ws)):
            pass
        return None
    except ConnectionClosed as exc:
        assert exc.rcvd is not None, "the server dropped the connection without a close frame"
        return exc.rcvd.code


def _probe_xdomain(ws: ClientConnection) -> Awaitable[None]:
    return ws.send(json.dumps({"v": 1, "t": "xdomain", "id": PROBE_ID, "url": "https://probe.example/"}))


def _xdomain_answer(msg: dict[str, Any]) -> bool:
    return msg["t"] in ("xdomain_refused", "xdomain_token") and msg.get("id") == PROBE_ID


def _snapshot_answer(msg: dict[str, Any]) -> bool:
    return msg["t"] == "events" and msg.get("snapshot") is True


async def _send(ws: ClientConnection, frame: str | bytes) -> None:
    try:
        await ws.send(frame)
    except ConnectionClosed:
        pass  # a previous frame already closed it: the outcome reads the close code


# ---- hostile frames ---------------------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=10**60)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["", "1", "start", "join", "x" * 5000, "<script>alert(1)</script>", "javascript:x"])
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_VISITOR_TAGS = ["start", "resume", "events", "page", "stop", "message", "userstate", "pause", "rc", "focus",
                 "xdomain", "xredeem"]  # fmt: skip
_AGENT_TAGS = ["join", "resync", "leave", "end", "message", "guestjoin", "admit", "rc_request", "rc_release",
               "control"]  # fmt: skip
_FIELDS = ["group", "key", "visitor", "page", "session", "token", "seq", "epoch", "snapshot", "data", "url",
           "title", "name", "pause", "message", "enabled", "focused", "id", "guestid", "accept", "op", "x",
           "text", "dx", "index"]  # fmt: skip


@st.composite
def hostile_frames(draw: st.DrawFn, tags: list[str]) -> str | bytes:
    """Shaped like a message (a known tag, known field names, hostile values), or not a message at all."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return draw(st.text(max_size=300))
    if kind == 2:
        return json.dumps(draw(_values))
    obj: dict[str, Any] = {"v": draw(st.just(1) | _scalars) if kind == 3 else 1}
    obj["t"] = (
        draw(st.sampled_from(tags) | st.text(max_size=10)) if kind == 4 else draw(st.sampled_from(tags))
    )
    for name in draw(st.lists(st.sampled_from(_FIELDS), max_size=5)):
        obj[name] = draw(_values)
    frame = json.dumps(obj)
    return frame.encode() if draw(st.booleans()) else frame  # a binary frame of the same UTF-8 text


def _check(code: int | None, frame: str | bytes) -> None:
    assert code is None or code in ALLOWED_CLOSES, (code, frame[:300])


# ---- the fuzz runs ----------------------------------------------------------------------------------------


@FUZZ
@given(frame=hostile_frames(_VISITOR_TAGS))
def test_hostile_first_visitor_frame(arena: Any, frame: str | bytes) -> None:
    server, loop, witness, errors = arena

    async def attempt() -> None:
        ws = await connect(server.ws + "/ws/visitor", max_size=None)
        await _send(ws, frame)
        try:
            first = await _recv(ws)
        except ConnectionClosed as exc:
            assert exc.rcvd is not None
            _check(exc.rcvd.code, frame)
            return
        if first["t"] in ("started", "resumed"):  # a frame that was a valid start
            await _probe_xdomain(ws)
            _check(await _outcome(ws, _xdomain_answer), frame)
        else:
            assert first["t"] in ("error", "ended"), first
            _check(await _outcome(ws, lambda msg: False), frame)
        await ws.close()
        await witness.round()

    loop.run(attempt())
    assert not errors.records, errors.records[0].getMessage()


@FUZZ
@given(frames=st.lists(hostile_frames(_VISITOR_TAGS), min_size=1, max_size=3))
def test_hostile_visitor_frames_mid_session(arena: Any, frames: list[str | bytes]) -> None:
    server, loop, witness, errors = arena

    async def attempt() -> None:
        ws = await _visitor(server)
        await ws.send(_events(1, snapshot=True))
        for frame in frames:
            await _send(ws, frame)
        await _send(ws, _events(2))
        await _probe_xdomain(ws)
        _check(await _outcome(ws, _xdomain_answer), frames[-1])
        await ws.close()
        STARTED.pop(ws)
        await witness.round()

    loop.run(attempt())
    assert not errors.records, errors.records[0].getMessage()


@FUZZ
@given(frame=hostile_frames(_AGENT_TAGS), mid_session=st.booleans())
def test_hostile_agent_frames(arena: Any, other_cookie: str, frame: str | bytes, mid_session: bool) -> None:
    server, loop, witness, errors = arena

    async def attempt() -> None:
        visitor = await _visitor(server)
        await visitor.send(_events(1, snapshot=True))
        agent = await connect(
            server.ws + "/ws/agent", additional_headers={"Cookie": other_cookie}, max_size=None
        )
        if mid_session:
            await agent.send(json.dumps({"v": 1, "t": "join", "key": STARTED[visitor]["key"], "group": 2}))
            assert (await _recv(agent))["t"] == "joined"
            await _recv_type(agent, "events")
        await _send(agent, frame)
        if mid_session:
            await _send(agent, json.dumps({"v": 1, "t": "resync"}))
            _check(await _outcome(agent, _snapshot_answer), frame)
        else:
            code = await _outcome(agent, lambda msg: msg["t"] == "joined")
            _check(code, frame)
        await agent.close()
        await visitor.close()
        STARTED.pop(visitor)
        await witness.round()

    loop.run(attempt())
    assert not errors.records, errors.records[0].getMessage()


def _invite(server: LiveServer, cookie: str, session_id: int) -> str:
    response = httpx.post(f"{server.url}/api/v1/sessions/{session_id}/guests", headers={"Cookie": cookie})
    assert response.status_code == 201, response.text
    return str(response.json()["url"]).rsplit("/", 1)[1]


@settings(FUZZ, max_examples=25)
@given(frame=hostile_frames(_AGENT_TAGS), admitted=st.booleans())
def test_hostile_guest_frames(arena: Any, other_cookie: str, frame: str | bytes, admitted: bool) -> None:
    """A guest socket: the hostile frame as its hello, or after an agent admitted it."""
    server, loop, witness, errors = arena
    visitor = loop.run(_visitor(server))
    loop.run(visitor.send(_events(1, snapshot=True)))
    token = _invite(server, other_cookie, STARTED[visitor]["session"]) if admitted else ""

    async def attempt() -> None:
        agent = await connect(
            server.ws + "/ws/agent", additional_headers={"Cookie": other_cookie}, max_size=None
        )
        await agent.send(json.dumps({"v": 1, "t": "join", "key": STARTED[visitor]["key"], "group": 2}))
        assert (await _recv(agent))["t"] == "joined"
        guest = await connect(server.ws + "/ws/guest", max_size=None)
        if admitted:
            await guest.send(json.dumps({"v": 1, "t": "guestjoin", "token": token, "name": "Gus"}))
            request = await _recv_type(agent, "guest_request")
            await agent.send(
                json.dumps({"v": 1, "t": "admit", "guestid": request["guestid"], "accept": True})
            )
            assert (await _recv(guest))["t"] == "addguestaccepted"
            await _recv_type(guest, "events")
            await _send(guest, frame)
            await _send(guest, json.dumps({"v": 1, "t": "resync"}))
            _check(await _outcome(guest, _snapshot_answer), frame)
        else:
            await _send(guest, frame)
            _check(await _outcome(guest, lambda msg: msg["t"] == "addguestaccepted"), frame)
        for ws in (guest, agent, visitor):
            await ws.close()
        STARTED.pop(visitor)
        await witness.round()

    loop.run(attempt())
    assert not errors.records, errors.records[0].getMessage()


# ---- found by the fuzzing (fixed): invalid UTF-8 in a binary frame, hostile nesting --------------------------


async def _closed_code(ws: ClientConnection) -> int | None:
    return await _outcome(ws, lambda msg: False)


@pytest.mark.parametrize(
    "frame",
    [
        b'{"v":1,"t":"page","url":"\xc3","title":""}',
        '{"v":1,"t":"message","name":"n","data":' + "[" * 3000 + "]" * 3000 + "}",
    ],
    ids=["invalid-utf8", "deep-nesting"],
)
def test_undecodable_frames_are_refused_as_malformed(arena: Any, frame: str | bytes) -> None:
    server, loop, witness, errors = arena
    errors.records.clear()

    async def attempt() -> int | None:
        ws = await _visitor(server)
        STARTED.pop(ws)
        await ws.send(frame)
        return await _closed_code(ws)

    try:
        assert loop.run(attempt()) == 4000
        assert not errors.records
    finally:
        errors.records.clear()


def test_events_with_invalid_utf8_never_reach_agents(arena: Any, other_cookie: str) -> None:
    server, loop, witness, errors = arena

    async def attempt() -> None:
        visitor = await _visitor(server)
        key = STARTED.pop(visitor)["key"]
        agent = await connect(
            server.ws + "/ws/agent", additional_headers={"Cookie": other_cookie}, max_size=None
        )
        await agent.send(json.dumps({"v": 1, "t": "join", "key": key, "group": 2}))
        assert (await _recv(agent))["t"] == "joined"
        await visitor.send(b'{"v":1,"t":"events","seq":1,"epoch":1,"snapshot":true,"data":["\xff"]}')
        assert await _closed_code(visitor) == 4000
        await agent.send(json.dumps({"v": 1, "t": "resync"}))
        # the agent stays connected and never sees the frame
        await agent.send(json.dumps({"v": 1, "t": "leave"}))
        assert await _closed_code(agent) == 1000

    loop.run(attempt())
