"""Structured logs: JSON lines with time, level, logger, message and context (node, session, conn); text
lines with the same context; a real ``cobrowse serve --log-format json`` writes nothing but JSON lines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import signal
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from cobrowse.ops import logs
from ops.node_process import NodeProcess, wait_until
from support.wire import closed_with, send

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def configure() -> Iterator[Callable[[str], io.StringIO]]:
    """``configure(log_format)`` sends all logging to a buffer; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    logs.set_node(None)  # a server of another test may have set it

    def into_buffer(log_format: str) -> io.StringIO:
        buffer = io.StringIO()
        logs.configure_logging("debug", log_format, buffer)
        return buffer

    yield into_buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logs.set_node(None)


def json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_message_and_extras(configure: Callable[[str], io.StringIO]) -> None:
    buffer = configure("json")
    logging.getLogger("cobrowse.sessions").info("session %s started", 7, extra={"session": 7})
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("cobrowse.visitor").exception("visitor socket failed")
    first, second = json_lines(buffer)
    assert TIME.match(first.pop("time"))
    assert first == {"level": "info", "logger": "cobrowse.sessions", "message": "session 7 started", "session": 7}
    assert second["level"] == "error" and second["message"] == "visitor socket failed"
    assert "ValueError: boom" in second["exc"]


async def test_bound_context_is_on_every_line_of_the_task_only(configure: Callable[[str], io.StringIO]) -> None:
    buffer = configure("json")
    logs.set_node("node-a")
    log = logging.getLogger("cobrowse.agent")

    async def socket_task(session: int, conn: str) -> None:
        logs.bind(session=session, conn=conn)
        await asyncio.sleep(0)
        log.info("joined")

    await asyncio.gather(socket_task(1, "c1"), socket_task(2, "c2"))
    log.info("elsewhere")
    lines = [(line["message"], line.get("session"), line.get("conn"), line["node"]) for line in json_lines(buffer)]
    assert sorted(lines) == [
        ("elsewhere", None, None, "node-a"),
        ("joined", 1, "c1", "node-a"),
        ("joined", 2, "c2", "node-a"),
    ]


def test_text_lines_show_the_context_after_the_message(configure: Callable[[str], io.StringIO]) -> None:
    buffer = configure("text")
    logs.set_node("node-b")
    logging.getLogger("cobrowse.sessions").warning("slow store", extra={"session": 3, "conn": "abc"})
    line = buffer.getvalue().strip()
    assert line.endswith("WARNING cobrowse.sessions: slow store [node=node-b session=3 conn=abc]")


def test_serve_with_json_logs_writes_only_json_lines(start_node: Callable[..., NodeProcess]) -> None:
    node = start_node("--log-format", "json", "--log-level", "info")
    assert httpx.get(node.url + "/readyz").status_code == 200
    node.process.send_signal(signal.SIGTERM)
    node.process.wait(30)
    lines = [json.loads(line) for line in node.log_lines() if line.strip()]  # every line parses
    messages = {(line["logger"], line["message"]) for line in lines}
    assert ("uvicorn.error", "Application startup complete.") in messages
    access = [line for line in lines if line["logger"] == "uvicorn.access" and line.get("path") == "/readyz"]
    assert access and access[0]["status"] == 200 and access[0]["method"] == "GET" and access[0]["node"]
    assert all(TIME.match(line["time"]) and line["level"] for line in lines)


def test_serve_with_text_logs_keeps_the_usual_lines(start_node: Callable[..., NodeProcess]) -> None:
    node = start_node(log_format="text")
    node.process.send_signal(signal.SIGTERM)
    node.process.wait(30)
    wait_until(lambda: any("Application shutdown complete." in line for line in node.log_lines()), what="shutdown")
    pattern = re.compile(r" INFO uvicorn\.error: Application startup complete\. \[node=[0-9a-f]{12}\]$")
    assert any(pattern.search(line) for line in node.log_lines())


async def test_a_sessions_log_lines_carry_its_id(start_node: Callable[..., NodeProcess]) -> None:
    """Needs the log-context hooks in sessions/runtime.py and sessions/visitor_endpoint.py (docs/operations.md)."""
    node = start_node("--log-format", "json", group=1)
    ws = await connect(node.ws + "/ws/visitor")
    await send(ws, t="start", group=1, key="logged", page={"url": "https://shop.example/", "title": "Shop"})
    started = json.loads(await asyncio.wait_for(ws.recv(), 10))
    await send(ws, t="stop")
    assert (await closed_with(ws))[0] == 1000
    session = started["session"]

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in node.log_lines() if line.strip()]

    await asyncio.to_thread(
        wait_until, lambda: any(line["message"].startswith(f"session {session} ended") for line in lines())
    )
    about = [line for line in lines() if line["message"].startswith(f"session {session} ")]
    assert [line["message"].split(":")[0] for line in about] == [
        f"session {session} started in group 1 with key logged",
        f"session {session} ended",
    ]
    hooks = "the log-context hooks of docs/operations.md are missing in cobrowse.sessions"
    assert all(line.get("session") == session and line["node"] for line in about), hooks
    assert about[1].get("conn"), hooks  # written while serving the visitor's socket
