"""Helpers for the browser tests of the visitor API (``tests/e2e/test_visitor_*``): drive a visitor's page
through ``GLANCE.Cobrowse.Visitor``, watch it from an agent console, and read what went over the wire.

- ``RECORDER`` (install with ``context.add_init_script``) records every visitor event the site can hear into
  ``window.__events`` as ``{name, payload, readyState}``, from the moment the SDK's script has run.
- ``VisitorSockets`` taps the WebSockets a page opens (Playwright's ``framesent``), to check what left the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, WebSocket

Wait = Callable[..., Any]

EVENT_NAMES = [
    "sessionstarting",
    "sessionstart",
    "sessioncontinue",
    "statereceived",
    "sessionend",
    "error",
    "agents",
    "connection",
    "blur",
    "focus",
]

RECORDER = """
(() => {
  window.__events = [];
  const names = __NAMES__;
  document.addEventListener("load", (event) => {
    const visitor = window.GLANCE && window.GLANCE.Cobrowse && window.GLANCE.Cobrowse.Visitor;
    if (!(event.target instanceof HTMLScriptElement) || !visitor || window.__recording) return;
    window.__recording = true;
    for (const name of names) {
      visitor.addEventListener(name, (payload) => {
        window.__events.push({ name, payload: JSON.parse(JSON.stringify(payload === undefined ? null : payload)),
                               readyState: visitor.readyState });
      });
    }
  }, true);
})();
""".replace("__NAMES__", json.dumps(EVENT_NAMES))


class VisitorSockets:
    """Every WebSocket the page opens, with the text frames it sent (in order)."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        self.sent: list[str] = []
        page.on("websocket", self._opened)

    def _opened(self, ws: WebSocket) -> None:
        self.urls.append(ws.url)
        ws.on("framesent", lambda payload: self.sent.append(payload if isinstance(payload, str) else ""))

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(frame) for frame in self.sent if frame]

    def types(self) -> list[str]:
        return [m.get("t", "") for m in self.messages()]

    def mark(self) -> int:
        """The number of frames sent so far (to look only at what comes after)."""
        return len(self.sent)

    def since(self, mark: int) -> list[dict[str, Any]]:
        return [json.loads(frame) for frame in self.sent[mark:] if frame]

    def wait_sent(
        self,
        page: Page,
        check: Callable[[list[dict[str, Any]]], bool],
        mark: int = 0,
        timeout: float = 10_000,
    ) -> list[dict[str, Any]]:
        """Wait until ``check(messages sent since mark)`` is true (frames are reported asynchronously)."""
        waited = 0.0
        while True:
            sent = self.since(mark)
            if check(sent):
                return sent
            if waited >= timeout:
                raise AssertionError(
                    f"timed out waiting for frames; sent since mark: {[m.get('t') for m in sent]}"
                )
            page.wait_for_timeout(50)
            waited += 50


def events(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.__events")  # type: ignore[no-any-return]


def names(page: Page) -> list[str]:
    return [e["name"] for e in events(page)]


def api(page: Page, expression: str, arg: Any = None) -> Any:
    """Evaluate ``expression`` with ``V`` bound to ``GLANCE.Cobrowse.Visitor`` (and ``arg``)."""
    return page.evaluate(f"(arg) => {{ const V = GLANCE.Cobrowse.Visitor; return {expression}; }}", arg)


def throws(page: Page, statement: str, arg: Any = None) -> dict[str, Any] | None:
    """Run ``statement`` (with ``V`` and ``arg``); the error's ``{message, code}``, or None if nothing threw."""
    return page.evaluate(  # type: ignore[no-any-return]
        f"""(arg) => {{ const V = GLANCE.Cobrowse.Visitor;
              try {{ {statement}; return null; }}
              catch (e) {{ return {{ message: String(e && e.message), code: e && e.code }}; }} }}""",
        arg,
    )


def start(page: Page, wait_for: Wait, key: str) -> None:
    """startSession(key) and wait until the session is fully up (statereceived)."""
    api(page, "V.startSession(arg)", key)
    wait_for(
        page,
        "GLANCE.Cobrowse.Visitor.readyState === 'statereceived' || window.__events.some(e => e.name === 'sessionend')",
    )
    assert api(page, "V.readyState") == "statereceived", events(page)


def watch(agent_page: Page, key: str, wait_for: Wait) -> None:
    """Join ``key`` in the agent console and wait until the replay shows the visitor's page."""
    agent_page.evaluate("(key) => window.CobrowseAgent.join(key)", key)
    wait_for(agent_page, "window.CobrowseAgent.replayFrame()?.contentDocument?.body?.childElementCount > 0")


def join(agent_page: Page, key: str) -> dict[str, Any]:
    """Join ``key`` in the agent console (without waiting for a view); returns the JoinedInfo."""
    return agent_page.evaluate("(key) => window.CobrowseAgent.join(key)", key)  # type: ignore[no-any-return]


def in_replay(
    wait_for: Wait, agent_page: Page, expression: str, arg: Any = None, timeout: float = 10_000
) -> Any:
    """Wait until ``expression`` is truthy in the agent's replayed document (``doc``, ``arg`` in scope)."""
    return wait_for(
        agent_page,
        "(arg) => { const frame = window.CobrowseAgent && window.CobrowseAgent.replayFrame();"
        " const doc = frame && frame.contentDocument; if (!doc || !doc.body) return false;"
        f" return ({expression}); }}",
        arg=arg,
        timeout=timeout,
    )
