"""The visitor API (``GLANCE.Cobrowse.Visitor``) in real Chromium against a real demo stack.

Each test drives the visitor's page through the public API only, and checks what the visitor's page sees
(events, readyState, keys, cookie) and, where it matters, what an agent sees (the console's replay, and the
bytes the visitor's page actually sent). Sessions are module-wide on one stack, so every test uses keys of
its own and ends its sessions.

Two test-only hooks are installed with ``add_init_script`` (before any page script runs):
- an event recorder that adds listeners for every visitor event as soon as the SDK's script has run (the
  capture-phase ``load`` of that script), so events fired on page load (``sessioncontinue``) are not missed;
- a record of the default UI's closed shadow root (by wrapping ``attachShadow``), so the test can find the
  UI's button and click it with a real mouse click at its position. The SDK itself exposes nothing for this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocket

KEY_RULE = "a session key is 1 to 100 characters, each a letter, a digit, '_', '-' or '~'"

RECORDER = """
(() => {
  window.__events = [];
  const names = ["sessionstarting", "sessionstart", "sessioncontinue", "statereceived", "sessionend",
                 "error", "agents", "connection"];
  document.addEventListener("load", (event) => {
    const visitor = window.GLANCE && window.GLANCE.Cobrowse && window.GLANCE.Cobrowse.Visitor;
    if (!(event.target instanceof HTMLScriptElement) || !visitor || window.__recording) return;
    window.__recording = true;
    for (const name of names) {
      visitor.addEventListener(name, (payload) => {
        window.__events.push({ name, payload: JSON.parse(JSON.stringify(payload)),
                               readyState: visitor.readyState });
      });
    }
  }, true);
  const attachShadow = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attachShadow.call(this, init);
    if (this.localName === "glance-cobrowse-ui") window.__uiRoot = root;
    return root;
  };
})();
"""

Wait = Callable[..., Any]


class VisitorSockets:
    """Every WebSocket the visitor's page opens, with the text frames it sent."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        self.sent: list[str] = []
        page.on("websocket", self._opened)

    def _opened(self, ws: WebSocket) -> None:
        self.urls.append(ws.url)
        ws.on("framesent", lambda payload: self.sent.append(payload if isinstance(payload, str) else ""))

    def sent_messages(self) -> list[dict[str, Any]]:
        return [json.loads(frame) for frame in self.sent if frame]


@pytest.fixture
def page(visitor: Page) -> Page:
    """The ``visitor`` page with the event recorder installed."""
    visitor.context.add_init_script(RECORDER)
    return visitor


@pytest.fixture
def other_page(browser: Browser) -> Iterator[Page]:
    """A second visitor, in a browser context (a browser profile) of its own."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    context.add_init_script(RECORDER)
    try:
        yield context.new_page()
    finally:
        context.close()


def events(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.__events")  # type: ignore[no-any-return]


def names(page: Page) -> list[str]:
    return [e["name"] for e in events(page)]


def api(page: Page, expression: str, arg: Any = None) -> Any:
    """Evaluate ``expression`` with ``V`` bound to ``GLANCE.Cobrowse.Visitor``."""
    return page.evaluate(f"(arg) => {{ const V = GLANCE.Cobrowse.Visitor; return {expression}; }}", arg)


def start(page: Page, wait_for: Wait, key: Any = None) -> None:
    """startSession(key) (no argument when None) and wait until the session is fully up."""
    if key is None:
        api(page, "V.startSession()")
    else:
        api(page, "V.startSession(arg)", key)
    wait_for(page, "window.__events.some(e => e.name === 'statereceived' || e.name === 'sessionend')")
    assert api(page, "V.readyState") == "statereceived", events(page)


def start_throws(page: Page, arg: Any) -> dict[str, Any]:
    """startSession(arg), expected to throw; returns the error's message and code."""
    return page.evaluate(  # type: ignore[no-any-return]
        """(arg) => { try { GLANCE.Cobrowse.Visitor.startSession(arg); return null; }
                      catch (e) { return { message: e.message, code: e.code }; } }""",
        arg,
    )


def watch(agent_page: Page, key: str, wait_for: Wait) -> None:
    """Join ``key`` in the agent console and wait until the replay shows the visitor's page."""
    agent_page.evaluate("(key) => window.CobrowseAgent.join(key)", key)
    wait_for(agent_page, "window.CobrowseAgent.replayFrame()?.contentDocument?.body?.childElementCount > 0")


def replay_query(agent_page: Page, selector: str) -> Any:
    return agent_page.evaluate(
        "(s) => { const d = window.CobrowseAgent.replayFrame()?.contentDocument;"
        " const el = d && d.querySelector(s); return el ? el.textContent : null; }",
        selector,
    )


# --- keys ------------------------------------------------------------------------------------------------


def test_random_key_is_numeric_and_flagged_random(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/basic.html")
    start(page, wait_for)
    key = api(page, "V.getKey()")
    assert re.fullmatch(r"[0-9]{4,}", key), key
    assert api(page, "V.isRandomKey()") is True
    assert api(page, "V.inSession()") is True
    assert isinstance(api(page, "V.getCallId()"), int)
    api(page, "V.stopSession()")


def test_keytype_random_gives_a_random_key(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/basic.html")
    start(page, wait_for, "GLANCE_KEYTYPE_RANDOM")
    assert re.fullmatch(r"[0-9]{4,}", api(page, "V.getKey()"))
    assert api(page, "V.isRandomKey()") is True
    api(page, "V.stopSession()")


def test_explicit_key_and_event_order(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/basic.html")
    assert api(page, "V.readyState") == api(page, "V.READYSTATE.sessionend")
    assert api(page, "[V.inSession(), V.getKey(), V.getCallId(), V.loaded]") == [False, None, None, True]
    start(page, wait_for, "Key_explicit-1~")
    assert api(page, "[V.getKey(), V.isRandomKey()]") == ["Key_explicit-1~", False]
    recorded = events(page)
    assert [e["name"] for e in recorded] == [
        "sessionstarting",
        "sessionstart",
        "sessioncontinue",
        "statereceived",
    ]
    # readyState already holds the new state when each event fires, and READYSTATE names every state.
    assert [e["readyState"] for e in recorded] == [e["name"] for e in recorded]
    assert api(page, "Object.keys(V.READYSTATE).sort()") == sorted(
        [*(e["name"] for e in recorded), "sessionend"]
    )
    assert recorded[1]["payload"]["key"] == "Key_explicit-1~"
    api(page, "V.stopSession()")


def test_options_object_with_session_key(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/basic.html")
    start(page, wait_for, {"sessionKey": "options-key", "name": "Julie Smith", "email": "js@example.com"})
    assert api(page, "V.getKey()") == "options-key"
    api(page, "V.stopSession()")


def test_visitorid_is_the_default_key(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/visitorid.html")
    start(page, wait_for)
    assert api(page, "[V.getKey(), V.isRandomKey()]") == ["visitor-42", False]
    api(page, "V.stopSession()")
    wait_for(page, "window.__events.some(e => e.name === 'sessionend')")
    # GLANCE_KEYTYPE_RANDOM still asks for a random key when a visitorid is defined.
    page.evaluate("window.__events = []")
    start(page, wait_for, "GLANCE_KEYTYPE_RANDOM")
    assert api(page, "V.isRandomKey()") is True
    assert api(page, "V.getKey()") != "visitor-42"
    api(page, "V.stopSession()")


@pytest.mark.parametrize(
    "bad_key",
    ["k" * 101, "has space", "semi;colon", "ключ", "dot.key", ""],
    ids=["too-long", "space", "semicolon", "non-ascii", "dot", "empty"],
)
def test_invalid_key_throws_names_the_rule_and_starts_nothing(
    stack: Any, page: Page, bad_key: str, wait_for: Wait
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/basic.html")
    error = start_throws(page, bad_key)
    assert error is not None, "startSession accepted an invalid key"
    assert KEY_RULE in error["message"]
    assert error["code"] == "badkey"
    recorded = events(page)
    assert [e["name"] for e in recorded] == ["error"]
    assert recorded[0]["payload"]["code"] == "badkey"
    assert KEY_RULE in recorded[0]["payload"]["msg"]
    assert api(page, "[V.readyState, V.inSession(), V.getKey()]") == ["sessionend", False, None]
    # No session: the page never opened a connection to the server.
    assert sockets.urls == []
    # (the same page opens exactly one once it gets a valid key)
    start(page, wait_for, f"after-bad-key-{len(bad_key)}")
    assert sockets.urls == [stack.server.replace("http", "ws", 1) + "/ws/visitor"]
    api(page, "V.stopSession()")


def test_longest_key_is_accepted(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/basic.html")
    key = "L" * 100
    start(page, wait_for, key)
    assert api(page, "V.getKey()") == key
    api(page, "V.stopSession()")


def test_invalid_visitor_fields_throw_invalidparams(stack: Any, page: Page) -> None:
    page.goto(f"{stack.site}/basic.html")
    for options, rule in [
        ({"name": "n" * 64}, "at most 63"),
        ({"email": "e" * 128}, "at most 127"),
        ({"phone": "☎ 314-555-1212"}, "Latin-1"),
    ]:
        error = start_throws(page, options)
        assert error is not None and error["code"] == "invalidparams" and rule in error["message"], error
    assert [e["payload"]["code"] for e in events(page)] == ["invalidparams"] * 3
    assert api(page, "V.inSession()") is False


def test_duplicate_live_key_gives_dupkey(stack: Any, page: Page, other_page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/basic.html")
    start(page, wait_for, "dup-key-1")
    other_page.goto(f"{stack.site_b}/basic.html")
    api(other_page, "V.startSession('dup-key-1')")
    wait_for(other_page, "window.__events.some(e => e.name === 'sessionend')")
    recorded = events(other_page)
    assert [e["name"] for e in recorded] == ["sessionstarting", "error", "sessionend"]
    assert recorded[1]["payload"]["code"] == "dupkey"
    assert recorded[2]["payload"] == {"reason": "error"}
    assert api(other_page, "[V.readyState, V.inSession(), V.getCallId()]") == ["sessionend", False, None]
    # The first visitor's session is untouched.
    assert api(page, "[V.inSession(), V.getKey()]") == [True, "dup-key-1"]
    api(page, "V.stopSession()")


def test_start_while_in_session_throws(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/basic.html")
    start(page, wait_for, "twice-key")
    error = start_throws(page, "another-key")
    assert error is not None and "already" in error["message"]
    assert api(page, "V.getKey()") == "twice-key"
    api(page, "V.stopSession()")


# --- navigation and ending -------------------------------------------------------------------------------


def test_navigation_continues_the_session(
    stack: Any, page: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    page.goto(f"{stack.site}/basic.html")
    start(page, wait_for, "nav-key")
    call_id = api(page, "V.getCallId()")
    console = agent()
    watch(console, "nav-key", wait_for)
    assert replay_query(console, "#title") == "Basic test page"

    with page.expect_navigation():
        page.click("#to-second")
    # Known at once from the cookie, before the server has answered.
    assert api(page, "[V.getCallId(), V.getKey(), V.isRandomKey(), V.inSession()]") == [
        call_id,
        "nav-key",
        False,
        True,
    ]
    wait_for(page, "window.__events.some(e => e.name === 'statereceived')")
    assert names(page)[:2] == ["sessioncontinue", "statereceived"]
    assert "sessionstart" not in names(page)
    assert api(page, "V.getCallId()") == call_id
    # The agent sees the new page without doing anything.
    wait_for(
        console,
        "(s) => window.CobrowseAgent.replayFrame()?.contentDocument?.querySelector(s)",
        arg="#second-marker",
    )
    api(page, "V.stopSession()")


def test_stop_session_ends_for_both_sides(
    stack: Any, page: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    page.goto(f"{stack.site}/basic.html")
    start(page, wait_for, "stop-key")
    console = agent()
    console.evaluate(
        "window.__ended = null; window.CobrowseAgent.on('ended', (e) => { window.__ended = e; })"
    )
    watch(console, "stop-key", wait_for)
    api(page, "V.stopSession()")
    assert events(page)[-1] == {
        "name": "sessionend",
        "payload": {"reason": "visitor"},
        "readyState": "sessionend",
    }
    assert api(page, "[V.inSession(), V.getKey(), V.getCallId()]") == [False, None, None]
    assert "glance_ssn_info" not in page.evaluate("document.cookie")
    assert wait_for(console, "window.__ended") == {"reason": "visitor"}
    # The next page load is not in session.
    page.reload()
    assert api(page, "[V.inSession(), V.readyState]") == [False, "sessionend"]


def test_agent_end_gives_sessionend_agent(
    stack: Any, page: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    page.goto(f"{stack.site}/basic.html")
    start(page, wait_for, "agent-end-key")
    console = agent()
    watch(console, "agent-end-key", wait_for)
    console.evaluate("window.CobrowseAgent.end()")
    wait_for(page, "window.__events.some(e => e.name === 'sessionend')")
    assert events(page)[-1]["payload"] == {"reason": "agent"}
    assert api(page, "V.inSession()") is False
    assert "glance_ssn_info" not in page.evaluate("document.cookie")


def test_a_throwing_listener_does_not_stop_the_others(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/basic.html")
    page.evaluate(
        "GLANCE.Cobrowse.Visitor.addEventListener('sessionstart', () => { throw new Error('site bug'); })"
    )
    start(page, wait_for, "throwing-listener")
    assert names(page) == ["sessionstarting", "sessionstart", "sessioncontinue", "statereceived"]
    api(page, "V.stopSession()")


# --- default UI -----------------------------------------------------------------------------------------


def ui_click(page: Page, selector: str) -> None:
    """A real mouse click on an element of the default UI's (closed) shadow root."""
    box = page.evaluate(
        "(s) => { const r = window.__uiRoot.querySelector(s).getBoundingClientRect();"
        " return [r.x + r.width / 2, r.y + r.height / 2]; }",
        selector,
    )
    page.mouse.click(box[0], box[1])


def ui_state(page: Page) -> str:
    return page.evaluate("window.__uiRoot.querySelector('button').className")  # type: ignore[no-any-return]


def test_default_ui_starts_and_stops_and_never_reaches_the_agent(
    stack: Any, page: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/basic.html")
    wait_for(page, "window.__uiRoot && window.__uiRoot.querySelector('button')")
    assert "not_in_session" in ui_state(page)
    assert page.evaluate("window.__uiRoot.querySelector('button').textContent") == "Share my screen"
    # The site cannot reach into the UI (closed shadow root) and its styles cannot reach the host.
    assert page.evaluate("document.querySelector('glance-cobrowse-ui').shadowRoot") is None

    ui_click(page, "button")
    wait_for(page, "window.__events.some(e => e.name === 'statereceived')")
    key = api(page, "V.getKey()")
    assert re.fullmatch(r"[0-9]{4,}", key)
    assert "in_session" in ui_state(page)
    assert page.evaluate("window.__uiRoot.querySelector('.key').textContent") == key

    console = agent()
    watch(console, key, wait_for)
    page.evaluate("addNode('after the agent joined')")
    wait_for(
        console, "(s) => window.CobrowseAgent.replayFrame()?.contentDocument?.querySelector(s)", arg="#added"
    )
    replay = console.evaluate(
        "(() => { const d = window.CobrowseAgent.replayFrame().contentDocument;"
        " return { host: d.querySelectorAll('glance-cobrowse-ui').length, text: d.documentElement.textContent }; })()"
    )
    assert replay["host"] == 0
    assert "Share my screen" not in replay["text"] and "Session key" not in replay["text"]
    # Nothing of the UI in any page event the visitor's page sent: no host, no texts, no key.
    frames = [m for m in sockets.sent_messages() if m["t"] == "events"]
    assert frames and frames[0]["snapshot"] is True
    assert [e["type"] for e in frames[0]["data"][:2]] == [4, 2]
    data = json.dumps([m["data"] for m in frames])
    assert "glance-cobrowse-ui" not in data
    assert "Share my screen" not in data and "Session key" not in data
    assert f'"{key}"' not in data and f"Session key: {key}" not in data

    ui_click(page, ".stop")
    assert events(page)[-1]["payload"] == {"reason": "visitor"}
    assert "not_in_session" in ui_state(page)


def test_ui_none_disables_the_default_ui(stack: Any, page: Page, wait_for: Wait) -> None:
    page.context.add_init_script("window.GLANCE_COBROWSE = { ui: 'none' };")
    page.goto(f"{stack.site}/basic.html")
    assert page.evaluate("document.querySelectorAll('glance-cobrowse-ui').length") == 0
    assert page.evaluate("window.GLANCE.Cobrowse.VisitorUI.ready().then(() => true)") is True
    start(page, wait_for, "ui-none-key")
    assert page.evaluate("document.querySelectorAll('glance-cobrowse-ui').length") == 0
    api(page, "V.stopSession()")


def test_missing_group_id_is_a_clear_error_at_load(stack: Any, page: Page) -> None:
    # A page of the site without the tag (its 404 page), then the tag added without data-groupid.
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{stack.site}/no-such-page")
    outcome = page.evaluate(
        """(src) => new Promise((resolve) => {
             const s = document.createElement('script');
             s.id = 'glance-cobrowse';
             s.src = src;
             s.onload = () => resolve('loaded');
             s.onerror = () => resolve('not loaded');
             document.head.appendChild(s);
           })""",
        f"{stack.server}/static/visitor.js",
    )
    assert outcome == "loaded"
    assert any("data-groupid is required" in error for error in errors), errors
    assert (
        page.evaluate("!!(window.GLANCE && window.GLANCE.Cobrowse && window.GLANCE.Cobrowse.Visitor)")
        is False
    )
