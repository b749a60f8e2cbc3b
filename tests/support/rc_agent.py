"""An agent on a raw WebSocket, for the remote-control browser tests (``tests/e2e/test_rc_visitor.py``).

It logs in through the console's form (httpx), joins a session on ``/ws/agent`` with the session cookie and the
server's own Origin, and reads every frame on a thread. From the visitor's ``events`` frames it keeps, per
epoch, the rrweb node of every element that has an ``id`` attribute (full snapshots and mutation adds, iframe
documents included), so a test can address ``#name`` the way the console addresses what the agent points at:
``agent.control("click", "name")``. Waiting is done on a condition variable as frames arrive, never by sleeping.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

Message = dict[str, Any]

#: Every field of a ``control`` command at its default (web/shared/protocol.ts ``controlMsg``).
CONTROL_DEFAULTS: dict[str, Any] = {
    "id": 0,
    "x": 0.5,
    "y": 0.5,
    "key": "",
    "shift": False,
    "ctrl": False,
    "alt": False,
    "meta": False,
    "text": "",
    "index": -1,
    "dx": 0.0,
    "dy": 0.0,
    "offset": 0,
    "end_id": 0,
    "end_offset": 0,
    "agent": 0,
}


def login_cookie(server: str, username: str, password: str) -> str:
    """Log in through the console form; the Cookie header value for the agent's socket."""
    with httpx.Client(base_url=server, follow_redirects=False) as client:
        response = client.post("/agent/login", data={"username": username, "password": password})
        assert response.status_code in (302, 303), response.text
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _walk(node: dict[str, Any], parent: dict[str, Any] | None = None) -> Iterator[tuple[dict[str, Any], Any]]:
    yield node, parent
    for child in node.get("childNodes") or []:
        yield from _walk(child, node)


class RawAgent:
    """One agent's socket in one session: ``send``, ``control``, ``wait``, and the page's nodes by html id."""

    def __init__(
        self, server: str, key: str, username: str = "demo", password: str = "demo-password"
    ) -> None:
        cookie = login_cookie(server, username, password)
        url = server.replace("http", "ws", 1) + "/ws/agent"
        self._exit = contextlib.ExitStack()
        self.ws: ClientConnection = self._exit.enter_context(
            connect(url, additional_headers={"Cookie": cookie, "Origin": server})
        )
        self.messages: list[Message] = []
        #: epoch -> html id -> the serialized rrweb node
        self.nodes: dict[int, dict[str, dict[str, Any]]] = {}
        #: epoch -> rrweb id -> the serialized parent node (of the nodes in full snapshots)
        self.parents: dict[int, dict[int, dict[str, Any]]] = {}
        self.epoch = 0
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.send(t="join", key=key, group=None)
        self.joined = self.wait(lambda m: m["t"] == "joined")
        #: this agent's number in the session (as in the visitor's ``agents`` event)
        self.num = max(
            int(a["num"]) for a in self.joined["agents"]["agentlist"] if a.get("username") == username
        )

    def _read(self) -> None:
        try:
            for raw in self.ws:
                message = json.loads(raw)
                with self._changed:
                    self.messages.append(message)
                    if message.get("t") == "events":
                        self._index(message)
                    self._changed.notify_all()
        except ConnectionClosed:
            pass

    def _index(self, frame: Message) -> None:
        epoch = int(frame["epoch"])
        if frame.get("snapshot"):
            self.nodes[epoch] = {}
            self.parents[epoch] = {}
        known = self.nodes.setdefault(epoch, {})
        parents = self.parents.setdefault(epoch, {})
        self.epoch = max(self.epoch, epoch)
        roots: list[dict[str, Any]] = []
        for event in frame.get("data", []):
            if event.get("type") == 2:
                roots.append(event["data"]["node"])
            elif event.get("type") == 3 and event["data"].get("source") == 0:
                roots.extend(add["node"] for add in event["data"].get("adds", []))
        for root in roots:
            for node, parent in _walk(root):
                if parent is not None:
                    parents[int(node["id"])] = parent
                html_id = (node.get("attributes") or {}).get("id")
                if isinstance(html_id, str):
                    known[html_id] = node

    def send(self, **message: Any) -> None:
        self.ws.send(json.dumps({"v": 1, **message}))

    def wait(self, check: Callable[[Message], bool], timeout: float = 10.0, since: int = 0) -> Message:
        """The first message (from index ``since``) for which ``check`` is true, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.messages[since:]:
                    if check(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [m.get("t") for m in self.messages[since:]]
                    raise AssertionError(f"timed out waiting for a message; received: {seen}")
                self._changed.wait(remaining)

    def mark(self) -> int:
        """The number of messages so far (to wait only for later ones)."""
        with self._changed:
            return len(self.messages)

    def wait_rc(self, since: int = 0, **state: bool) -> Message:
        """The next ``rc`` message whose fields include ``state`` (e.g. ``enabled=True``)."""
        return self.wait(
            lambda m: m["t"] == "rc" and all(m.get(k) == v for k, v in state.items()), since=since
        )

    def node(
        self, html_id: str, epoch: int | None = None, timeout: float = 10.0
    ) -> tuple[int, dict[str, Any]]:
        """(epoch, serialized node) of the element with this html id in ``epoch`` (default: the latest that
        has it), waiting for a frame that carries it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                epochs = [epoch] if epoch is not None else sorted(self.nodes, reverse=True)
                for e in epochs:
                    if html_id in self.nodes.get(e, {}):
                        return e, self.nodes[e][html_id]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no node with id {html_id!r} in epochs {sorted(self.nodes)}")
                self._changed.wait(remaining)

    def node_id(self, html_id: str, epoch: int | None = None) -> tuple[int, int]:
        """(epoch, rrweb id) of the element with this html id."""
        found_epoch, node = self.node(html_id, epoch)
        return found_epoch, int(node["id"])

    def element_before(self, html_id: str) -> tuple[int, int]:
        """(epoch, rrweb id) of the element just before the one with this html id: for elements whose
        attributes the recording removed (a masked element keeps only its box)."""
        epoch, node = self.node(html_id)
        siblings = self.parents[epoch][int(node["id"])]["childNodes"]
        at = next(i for i, sibling in enumerate(siblings) if sibling["id"] == node["id"])
        before = next(sibling for sibling in reversed(siblings[:at]) if sibling["type"] == 2)
        return epoch, int(before["id"])

    def control(self, op: str, target: str | None = None, **fields: Any) -> None:
        """Send a ``control`` command for the element with html id ``target`` (or ``id`` / ``epoch`` given)."""
        message = {**CONTROL_DEFAULTS, "op": op}
        if target is not None:
            message["epoch"], message["id"] = self.node_id(target)
        else:
            message["epoch"] = self.epoch
        message.update(fields)
        self.send(t="control", **message)

    def close(self) -> None:
        self._exit.close()
        self._reader.join(timeout=5)
