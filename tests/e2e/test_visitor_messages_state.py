"""The visitor API's session messages, user state, cookie values, session state and events, in real Chromium.

One conformance test per method and event: session messages both ways between the visitor's page and an agent
console (``sendSessionMessage`` / ``addSessionMessageListener`` on both sides), ``setUserState`` /
``getUserState`` across a navigation (read in ``statereceived``), ``setCookieValue`` / ``getCookieValue`` (types
kept, usable from ``sessioncontinue``), ``getSessionState`` (``agents``, ``connection``, ``blur``/``focus``),
``readyState`` with its events, ``connection`` while the socket drops and recovers, ``isMobile``. Bad input and
calls outside a session throw a clear error, send nothing (checked on the wire) and leave the session as it was.

Pages: ``tests/e2e/pages/api-page.html``. Sessions are module-wide on one stack: every test uses keys of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute

from support.visitor_pages import RECORDER, VisitorSockets, api, events, names, start, throws, watch

Wait = Callable[..., Any]
Agent = Callable[..., Page]


@pytest.fixture
def page(visitor: Page) -> Page:
    visitor.context.add_init_script(RECORDER)
    return visitor


def open_page(page: Page, stack: Any, query: str = "") -> None:
    page.goto(f"{stack.site}/api-page.html{query}")


# --- session messages -------------------------------------------------------------------------------------


def test_send_session_message_reaches_the_agent_with_its_types(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    open_page(page, stack)
    start(page, wait_for, "msg-to-agent")
    console = agent()
    console.evaluate(
        """() => { window.got = []; window.gotEvents = [];
        CobrowseAgent.addSessionMessageListener('order', (name, msg) => window.got.push({ name, msg }));
        CobrowseAgent.on('message', (m) => window.gotEvents.push(m)); }"""
    )
    watch(console, "msg-to-agent", wait_for)
    payload = {"id": 7, "ok": True, "none": None, "items": [1.5, "two", {"three": 3}], "text": "héllo ✓"}
    api(page, "V.sendSessionMessage('order', arg)", payload)
    api(page, "V.sendSessionMessage('other', 'not for the order listener')")
    got = wait_for(console, "window.gotEvents.length >= 2 && window.got")
    assert got == [{"name": "order", "msg": payload}]
    assert console.evaluate("window.gotEvents") == [
        {"name": "order", "data": payload},
        {"name": "other", "data": "not for the order listener"},
    ]
    api(page, "V.stopSession()")


def test_agent_message_reaches_the_visitor_handler(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    open_page(page, stack)
    start(page, wait_for, "msg-to-visitor")
    page.evaluate("listenForMessages('greeting')")
    console = agent()
    watch(console, "msg-to-visitor", wait_for)
    console.evaluate(
        "CobrowseAgent.sendSessionMessage('greeting', { text: 'Hello from the agent', n: [1, 2] })"
    )
    console.evaluate("CobrowseAgent.sendSessionMessage('unheard', 1)")
    received = wait_for(page, "window.received.length > 0 && window.received")
    assert received == [{"name": "greeting", "msg": {"text": "Hello from the agent", "n": [1, 2]}}]
    # After a navigation the new page's listener hears the agent too.
    with page.expect_navigation():
        page.click("#to-next")
    wait_for(page, "GLANCE.Cobrowse.Visitor.readyState === 'statereceived'")
    page.evaluate("listenForMessages('greeting')")
    wait_for(console, "CobrowseAgent.session && CobrowseAgent.session.visitorConnected")
    console.evaluate("CobrowseAgent.sendSessionMessage('greeting', 'again')")
    assert wait_for(page, "window.received.length > 0 && window.received") == [
        {"name": "greeting", "msg": "again"}
    ]
    api(page, "V.stopSession()")


BAD_MESSAGES = [
    ("function", "V.sendSessionMessage('m', function () {})", "function"),
    ("undefined", "V.sendSessionMessage('m', undefined)", "undefined"),
    ("nested-undefined", "V.sendSessionMessage('m', { a: undefined })", "msg.a is undefined"),
    ("cyclic", "const o = { a: 1 }; o.self = o; V.sendSessionMessage('m', o)", "cycle"),
    ("date", "V.sendSessionMessage('m', { when: new Date() })", "Date"),
    ("nan", "V.sendSessionMessage('m', [NaN])", "NaN"),
    ("too-big", "V.sendSessionMessage('m', 'x'.repeat(64 * 1024))", "at most 65536 bytes"),
    ("empty-name", "V.sendSessionMessage('', 1)", "1 to 100 characters"),
    ("long-name", "V.sendSessionMessage('n'.repeat(101), 1)", "1 to 100 characters"),
    ("number-name", "V.sendSessionMessage(5, 1)", "must be a string"),
]


def test_bad_messages_throw_clearly_and_send_nothing(stack: Any, page: Page, wait_for: Wait) -> None:
    sockets = VisitorSockets(page)
    open_page(page, stack)
    start(page, wait_for, "bad-messages")
    key_and_call = api(page, "[V.getKey(), V.getCallId(), V.readyState]")
    mark = sockets.mark()
    for label, statement, words in BAD_MESSAGES:
        error = throws(page, statement)
        assert error is not None, f"{label}: accepted"
        assert error["code"] == "badmessage", (label, error)
        assert words in error["message"] and error["message"].startswith("cobrowse: sendSessionMessage"), (
            label,
            error,
        )
    # The largest payload that fits is accepted (64 KiB of JSON: a string of 65534 characters plus its quotes).
    api(page, "V.sendSessionMessage('m', 'x'.repeat(64 * 1024 - 2))")
    api(page, "V.sendSessionMessage('last', 1)")
    sent = sockets.wait_sent(
        page, lambda ms: any(m["t"] == "message" and m["name"] == "last" for m in ms), mark
    )
    # Only the two good messages went out, and the session is as it was.
    assert [m["name"] for m in sent if m["t"] == "message"] == ["m", "last"]
    assert api(page, "[V.getKey(), V.getCallId(), V.readyState]") == key_and_call
    assert api(page, "V.inSession()") is True
    api(page, "V.stopSession()")


def test_agent_bad_messages_throw_and_nothing_arrives(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    open_page(page, stack)
    start(page, wait_for, "agent-bad-messages")
    page.evaluate("listenForMessages('m')")
    console = agent()
    # Not joined yet: a clear error.
    error = console.evaluate(
        "() => { try { CobrowseAgent.sendSessionMessage('m', 1); } catch (e) { return [e.code, e.message]; } }"
    )
    assert error == ["notjoined", "not in a session"]
    watch(console, "agent-bad-messages", wait_for)
    for statement, words in [
        ("CobrowseAgent.sendSessionMessage('m', () => 1)", "function"),
        ("const o = []; o.push(o); CobrowseAgent.sendSessionMessage('m', o)", "cycle"),
        ("CobrowseAgent.sendSessionMessage('m', 'x'.repeat(70000))", "at most 65536 bytes"),
        ("CobrowseAgent.sendSessionMessage('', 1)", "1 to 100 characters"),
    ]:
        error = console.evaluate(
            f"() => {{ try {{ {statement}; return null; }} catch (e) {{ return [e.code, e.message]; }} }}"
        )
        assert error is not None and error[0] == "badmessage" and words in error[1], (statement, error)
    console.evaluate("CobrowseAgent.sendSessionMessage('m', 'the only good one')")
    assert wait_for(page, "window.received.length > 0 && window.received") == [
        {"name": "m", "msg": "the only good one"}
    ]
    assert console.evaluate("CobrowseAgent.state") == "joined"
    api(page, "V.stopSession()")


# --- outside a session --------------------------------------------------------------------------------------


def test_starred_methods_throw_outside_a_session_and_open_nothing(stack: Any, page: Page) -> None:
    sockets = VisitorSockets(page)
    open_page(page, stack)
    for statement, method in [
        ("V.sendSessionMessage('m', 1)", "sendSessionMessage"),
        ("V.addSessionMessageListener('m', () => {})", "addSessionMessageListener"),
        ("V.setUserState('s', 1)", "setUserState"),
        ("V.getSessionState('agents')", "getSessionState"),
    ]:
        error = throws(page, statement)
        assert error is not None, f"{method} did not throw outside a session"
        assert error["code"] == "notinsession"
        assert error["message"].startswith(f"cobrowse: {method} can only be called while a session is active")
    for statement, method in [
        ("V.setCookieValue('k', 1)", "setCookieValue"),
        ("V.getCookieValue('k')", "getCookieValue"),
    ]:
        error = throws(page, statement)
        assert error is not None and error["code"] == "notready", (method, error)
        assert "sessioncontinue" in error["message"], error
    assert api(page, "[V.inSession(), V.readyState, V.getKey(), V.getCallId(), V.isRandomKey()]") == [
        False,
        "sessionend",
        None,
        None,
        False,
    ]
    assert events(page) == []
    assert sockets.urls == []


# --- user state -------------------------------------------------------------------------------------------


STATE_READER = """
(() => {
  // On every page: read user state the moment statereceived fires (and at sessioncontinue, for comparison).
  window.__stateAt = {};
  document.addEventListener("load", (event) => {
    const V = window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor;
    if (!(event.target instanceof HTMLScriptElement) || !V || window.__stateReader) return;
    window.__stateReader = true;
    V.addEventListener("statereceived", () => { window.__stateAt.statereceived = V.getUserState("cart"); });
  }, true);
})();
"""


def test_user_state_survives_navigation_and_is_there_at_statereceived(
    stack: Any, page: Page, wait_for: Wait
) -> None:
    page.context.add_init_script(STATE_READER)
    sockets = VisitorSockets(page)
    open_page(page, stack)
    start(page, wait_for, "user-state")
    cart = {"items": [{"sku": "A-1", "qty": 2}], "total": 19.5, "gift": False}
    api(page, "V.setUserState('cart', arg)", cart)
    api(page, "V.setUserState('step', 3)")
    api(page, "V.setUserState('step', 4)")  # the last value wins
    assert api(page, "V.getUserState('cart')") == cart
    assert api(page, "V.getUserState('missing')") is None
    # What getUserState returns is a copy.
    assert (
        api(page, "(() => { V.getUserState('cart').total = 0; return V.getUserState('cart').total; })()")
        == 19.5
    )
    sent = sockets.wait_sent(page, lambda ms: len([m for m in ms if m["t"] == "userstate"]) >= 3)
    assert [(m["name"], m["data"]) for m in sent if m["t"] == "userstate"] == [
        ("cart", cart),
        ("step", 3),
        ("step", 4),
    ]

    with page.expect_navigation():
        page.click("#to-next")
    wait_for(page, "GLANCE.Cobrowse.Visitor.readyState === 'statereceived'")
    assert page.evaluate("window.__stateAt.statereceived") == cart
    assert api(page, "[V.getUserState('cart'), V.getUserState('step')]") == [cart, 4]
    # Bad input: a clear error, nothing stored.
    for statement, code in [
        ("V.setUserState('cart', () => 1)", "badmessage"),
        ("V.setUserState('', 1)", "badmessage"),
        ("V.setUserState('big', 'x'.repeat(70000))", "badmessage"),
    ]:
        error = throws(page, statement)
        assert error is not None and error["code"] == code and "setUserState" in error["message"], error
    assert api(page, "V.getUserState('cart')") == cart
    api(page, "V.stopSession()")
    # The session is over: its state is gone.
    assert api(page, "V.getUserState('cart')") is None


# --- cookie values ----------------------------------------------------------------------------------------


COOKIE_READER = """
(() => {
  // On every page: read cookie values the moment sessioncontinue fires.
  document.addEventListener("load", (event) => {
    const V = window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor;
    if (!(event.target instanceof HTMLScriptElement) || !V || window.__cookieReader) return;
    window.__cookieReader = true;
    V.addEventListener("sessioncontinue", () => {
      window.__cookieAtContinue = ["flag", "count", "ui", "nothing", "text"].map((k) => V.getCookieValue(k));
    });
  }, true);
})();
"""


def test_cookie_values_keep_their_types_across_pages(stack: Any, page: Page, wait_for: Wait) -> None:
    page.context.add_init_script(COOKIE_READER)
    open_page(page, stack)
    start(page, wait_for, "cookie-values")
    values = {
        "flag": True,
        "count": 42,
        "ui": {"open": False, "tabs": [1, "two"]},
        "nothing": None,
        "text": "a;b=c",
    }
    for key, value in values.items():
        api(page, "V.setCookieValue(arg[0], arg[1])", [key, value])
    assert api(
        page, "['flag', 'count', 'ui', 'nothing', 'text', 'absent'].map((k) => V.getCookieValue(k))"
    ) == [
        True,
        42,
        values["ui"],
        None,
        "a;b=c",
        None,
    ]
    # They live in the session cookie on the site's domain.
    cookie = next(c for c in page.context.cookies() if c["name"] == "glance_ssn_info")
    assert cookie["domain"] == "a.localhost"
    assert "%22count%22%3A42" in cookie["value"]

    with page.expect_navigation():
        page.click("#to-next")
    wait_for(page, "window.__cookieAtContinue")
    assert page.evaluate("window.__cookieAtContinue") == [True, 42, values["ui"], None, "a;b=c"]
    # Bad values: a clear error and the cookie unchanged.
    for statement, code in [
        ("V.setCookieValue('fn', () => 1)", "invalidparams"),
        ("V.setCookieValue('', 1)", "invalidparams"),
        ("V.setCookieValue('big', 'x'.repeat(5000))", "toolarge"),
    ]:
        error = throws(page, statement)
        assert error is not None and error["code"] == code and "setCookieValue" in error["message"], error
    assert api(page, "[V.getCookieValue('big'), V.getCookieValue('count')]") == [None, 42]
    api(page, "V.stopSession()")
    assert throws(page, "V.getCookieValue('count')") is not None


# --- getSessionState, readyState and events --------------------------------------------------------------------


def test_get_session_state_reports_the_last_agents_event(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    open_page(page, stack)
    start(page, wait_for, "session-state")
    assert api(page, "V.getSessionState('agents')") is None
    assert api(page, "V.getSessionState('rc')") == {"enabled": False, "suspended": False}
    assert api(page, "V.getSessionState('screenshare', 'glance_screenshare')") is None
    console = agent()
    watch(console, "session-state", wait_for)
    wait_for(page, "window.__events.some(e => e.name === 'agents' && e.payload.count === 1)")
    last_agents = [e for e in events(page) if e["name"] == "agents"][-1]["payload"]
    state = api(page, "V.getSessionState('agents')")
    assert state == last_agents
    assert state["count"] == 1 and state["agentlist"][0]["username"] == "demo"
    assert {"username", "name", "role", "num"} <= set(state["agentlist"][0])
    # A copy: changing it changes nothing.
    assert (
        api(
            page,
            "(() => { V.getSessionState('agents').count = 99; return V.getSessionState('agents').count; })()",
        )
        == 1
    )
    console.evaluate("CobrowseAgent.leave()")
    wait_for(page, "GLANCE.Cobrowse.Visitor.getSessionState('agents').count === 0")
    assert api(page, "V.getSessionState('sessionstart').key") == "session-state"
    error = throws(page, "V.getSessionState(42)")
    assert error is not None and error["code"] == "invalidparams"
    api(page, "V.stopSession()")


def test_ready_state_moves_with_an_event_at_each_change(stack: Any, page: Page, wait_for: Wait) -> None:
    open_page(page, stack)
    assert api(page, "V.READYSTATE") == {
        "sessionend": "sessionend",
        "sessionstarting": "sessionstarting",
        "sessionstart": "sessionstart",
        "sessioncontinue": "sessioncontinue",
        "statereceived": "statereceived",
    }
    assert api(page, "V.readyState") == "sessionend"
    start(page, wait_for, "ready-state")
    lifecycle = [e for e in events(page) if e["name"] in api(page, "Object.keys(V.READYSTATE)")]
    assert [(e["name"], e["readyState"]) for e in lifecycle] == [
        ("sessionstarting", "sessionstarting"),
        ("sessionstart", "sessionstart"),
        ("sessioncontinue", "sessioncontinue"),
        ("statereceived", "statereceived"),
    ]
    with page.expect_navigation():
        page.click("#to-next")
    wait_for(page, "GLANCE.Cobrowse.Visitor.readyState === 'statereceived'")
    assert [e["name"] for e in events(page) if e["name"] in ("sessioncontinue", "statereceived")] == [
        "sessioncontinue",
        "statereceived",
    ]
    api(page, "V.stopSession()")
    assert events(page)[-1] == {
        "name": "sessionend",
        "payload": {"reason": "visitor"},
        "readyState": "sessionend",
    }


def test_blur_and_focus_follow_the_page_while_in_session(stack: Any, page: Page, wait_for: Wait) -> None:
    open_page(page, stack)
    # Not in session: nothing fires.
    page.evaluate("window.dispatchEvent(new Event('blur'))")
    assert names(page) == []
    start(page, wait_for, "blur-focus")
    assert "focus" in names(page)  # the state at sessioncontinue
    assert api(page, "V.getSessionState('focus')") == {}
    page.evaluate("window.__events = []")
    page.evaluate("window.dispatchEvent(new Event('blur'))")
    page.evaluate("window.dispatchEvent(new Event('blur'))")  # no change, no event
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    assert [(e["name"], e["readyState"]) for e in events(page)] == [
        ("blur", "statereceived"),
        ("focus", "statereceived"),
    ]
    assert api(page, "V.getSessionState('blur')") == {}
    api(page, "V.stopSession()")
    page.evaluate("window.__events = []; window.dispatchEvent(new Event('blur'))")
    assert names(page) == []


def test_connection_event_and_state_when_the_socket_drops(stack: Any, page: Page, wait_for: Wait) -> None:
    """The page's socket is routed through Playwright; closing the page's side is a network drop."""
    routes: list[WebSocketRoute] = []

    def proxy(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        routes.append(ws)

    page.route_web_socket("**/ws/visitor", proxy)
    open_page(page, stack)
    start(page, wait_for, "connection-drop")
    assert api(page, "V.getSessionState('connection')") is None
    routes[0].close(code=1012, reason="service restart")  # a transient close: the SDK reconnects
    wait_for(page, "window.__events.some(e => e.name === 'connection' && e.payload.status === 'ok')")
    recorded = [e["payload"] for e in events(page) if e["name"] == "connection"]
    assert recorded == [{"status": "reconnecting"}, {"status": "ok"}]
    assert api(page, "V.getSessionState('connection')") == {"status": "ok"}
    assert api(page, "[V.inSession(), V.getKey(), V.readyState]") == [
        True,
        "connection-drop",
        "statereceived",
    ]
    api(page, "V.stopSession()")


# --- small ones ------------------------------------------------------------------------------------------


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        user_agent=(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
        ),
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def test_is_mobile(stack: Any, page: Page, phone: Page) -> None:
    open_page(page, stack)
    assert api(page, "V.isMobile()") is False
    phone.goto(f"{stack.site}/api-page.html")
    assert api(phone, "V.isMobile()") is True


def test_key_call_id_and_random_flag_in_and_out_of_session(stack: Any, page: Page, wait_for: Wait) -> None:
    open_page(page, stack)
    assert api(page, "[V.getKey(), V.getCallId(), V.isRandomKey()]") == [None, None, False]
    api(page, "V.startSession()")
    wait_for(page, "GLANCE.Cobrowse.Visitor.readyState === 'statereceived'")
    key, call_id, random = api(page, "[V.getKey(), V.getCallId(), V.isRandomKey()]")
    assert key.isdigit() and isinstance(call_id, int) and random is True
    assert str(call_id) != key
    with page.expect_navigation():
        page.click("#to-next")
    assert api(page, "[V.getKey(), V.getCallId(), V.isRandomKey()]") == [key, call_id, True]
    api(page, "V.stopSession()")
    assert api(page, "[V.getKey(), V.getCallId(), V.isRandomKey()]") == [None, None, False]
