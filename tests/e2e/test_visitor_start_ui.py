"""Starting sessions and the visitor UI, in real Chromium: ``startSession(options)`` validation, ``setStartParams``
for the four ways a session starts, ``VisitorUI.showTerms`` / ``Visitor.showTerms``, the custom-UI mode
(``data-ui="custom"`` with ``Loader.setUIReady()``), the demo's custom UI sample clicked through, and the
published TypeScript declarations.

The default UI and the terms dialog live in closed shadow roots: they are clicked through the accessibility tree
(the ``screen`` fixture), as a visitor (or a screen reader) would.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from support.visitor_pages import RECORDER, VisitorSockets, api, events, join, names, start, throws, watch

Wait = Callable[..., Any]
Agent = Callable[..., Page]


@pytest.fixture
def page(visitor: Page) -> Page:
    visitor.context.add_init_script(RECORDER)
    return visitor


def wait_live(page: Page, wait_for: Wait) -> None:
    wait_for(
        page,
        "GLANCE.Cobrowse.Visitor.readyState === 'statereceived' || window.__events.some(e => e.name === 'sessionend')",
    )
    assert api(page, "V.readyState") == "statereceived", events(page)


def stop(page: Page, wait_for: Wait) -> None:
    api(page, "V.stopSession()")
    assert api(page, "V.inSession()") is False


# --- startSession(options) validation ---------------------------------------------------------------------------

BAD_OPTIONS = [
    ({"sessionkey": "x"}, 'unknown startSession option "sessionkey"'),
    ({"colour": "red"}, 'unknown startSession option "colour"'),
    ({"groupid": "abc"}, '"groupid" must be a positive whole number'),
    ({"groupid": -1}, '"groupid" must be a positive whole number'),
    ({"groupid": 1.5}, '"groupid" must be a positive whole number'),
    ({"sessionKey": {"k": 1}}, '"sessionKey" must be a string'),
    ({"name": ["Joe"]}, '"name" must be a string'),
    ({"email": 12}, '"email" must be a string'),
    ({"phone": {"n": 1}}, '"phone" must be a string'),
    ({"content": "hidden"}, '"content": "hidden" is not supported'),
    ({"video": "big"}, '"video" must be "large", "small", "off"'),
    ({"videosource": 3}, '"videosource" must be a string'),
    ({"previewelementid": True}, '"previewelementid" must be a string'),
    ({"camerastatus": "broken"}, '"camerastatus" must be "available"'),
    ({"videopaused": "yes"}, '"videopaused" must be true or false'),
]


@pytest.mark.parametrize(
    "options,words", BAD_OPTIONS, ids=[next(iter(o)) + "-" + str(i) for i, (o, _) in enumerate(BAD_OPTIONS)]
)
def test_bad_start_options_throw_naming_the_option_and_start_nothing(
    stack: Any, page: Page, options: dict[str, Any], words: str
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/api-page.html")
    error = throws(page, "V.startSession(arg)", options)
    assert error is not None, f"{options} accepted"
    assert error["code"] == "invalidparams" and words in error["message"], error
    assert error["message"].startswith("cobrowse: ")
    # The session state is unchanged and no connection was opened; the error event names the same problem.
    assert api(page, "[V.readyState, V.inSession(), V.getKey()]") == ["sessionend", False, None]
    assert [(e["name"], e["payload"]["code"]) for e in events(page)] == [("error", "invalidparams")]
    assert sockets.urls == []
    # setStartParams refuses the same, and keeps the parameters it had.
    api(page, "V.setStartParams({ sessionKey: 'kept-params' })")
    error = throws(page, "V.setStartParams(arg)", options)
    assert error is not None and error["code"] == "invalidparams", error
    assert api(page, "V.getStartParams()") == {"sessionKey": "kept-params"}


def test_all_start_options_are_accepted_and_video_is_kept(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    page.goto(f"{stack.site}/api-page.html")
    options = {
        "groupid": 1,
        "sessionKey": "all-options",
        "name": "Julie Smith",
        "email": "jsmith@example.com",
        "phone": "314-555-1212",
        "content": "visible",
        "video": "large",
        "videosource": "camera-1",
        "previewelementid": "glance_videopreview",
        "camerastatus": "available",
        "videopaused": False,
    }
    api(page, "V.startSession(arg)", options)
    wait_live(page, wait_for)
    assert api(page, "V.getKey()") == "all-options"
    assert api(page, "V.videoParams()") == {
        "video": "large",
        "videosource": "camera-1",
        "previewelementid": "glance_videopreview",
        "camerastatus": "available",
        "videopaused": False,
    }
    console = agent()
    info = join(console, "all-options")
    assert info["visitor"]["name"] == "Julie Smith" and info["visitor"]["phone"] == "314-555-1212"
    # In session, a second start throws and the session is as it was.
    error = throws(page, "V.startSession({ sessionKey: 'another' })")
    assert error is not None and "already" in error["message"]
    assert api(page, "[V.getKey(), V.readyState]") == ["all-options", "statereceived"]
    stop(page, wait_for)


# --- setStartParams: the four ways a session starts ----------------------------------------------------------


def params(page: Page, key: str) -> None:
    api(page, "V.setStartParams({ sessionKey: arg, name: 'Param Visitor' })", key)


def test_start_params_for_the_default_button(stack: Any, page: Page, screen: Any, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/api-page.html")
    params(page, "params-button")
    wait_for(page, "document.querySelector('glance-cobrowse-ui')")
    screen.click(page, "Share my screen")
    wait_live(page, wait_for)
    assert api(page, "V.getKey()") == "params-button"
    stop(page, wait_for)


def test_start_params_for_start_session_without_arguments(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    page.goto(f"{stack.site}/api-page.html")
    params(page, "params-no-args")
    assert api(page, "V.getStartParams()") == {"sessionKey": "params-no-args", "name": "Param Visitor"}
    api(page, "V.startSession()")
    wait_live(page, wait_for)
    assert api(page, "V.getKey()") == "params-no-args"
    assert join(agent(), "params-no-args")["visitor"]["name"] == "Param Visitor"
    stop(page, wait_for)
    # setStartParams() clears them: the next start gets a random key.
    api(page, "V.setStartParams()")
    assert api(page, "V.getStartParams()") is None
    page.evaluate("window.__events = []")
    api(page, "V.startSession()")
    wait_live(page, wait_for)
    assert re.fullmatch(r"[0-9]{4,}", api(page, "V.getKey()"))
    stop(page, wait_for)


def test_start_params_for_a_glance_button_start_session(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/api-page.html")
    params(page, "params-glance-button")
    page.click("#glance-start")
    wait_live(page, wait_for)
    assert api(page, "V.getKey()") == "params-glance-button"
    stop(page, wait_for)


def test_start_params_for_show_terms_then_accept(stack: Any, page: Page, screen: Any, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/api-page.html")
    params(page, "params-terms")
    page.click("#glance-terms")
    wait_for(page, "document.querySelectorAll('glance-cobrowse-ui').length === 2")
    assert "Accept" in screen.buttons(page) and "Decline" in screen.buttons(page)
    screen.click(page, "Accept")
    wait_live(page, wait_for)
    assert api(page, "V.getKey()") == "params-terms"
    # The dialog is gone.
    assert page.evaluate("document.querySelectorAll('glance-cobrowse-ui').length") == 1
    stop(page, wait_for)


# --- terms ------------------------------------------------------------------------------------------------


def test_show_terms_decline_starts_nothing_and_links_the_terms(
    stack: Any, page: Page, screen: Any, wait_for: Wait
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/api-page.html")
    page.evaluate("GLANCE.Cobrowse.VisitorUI.showTerms()")
    wait_for(page, "document.querySelectorAll('glance-cobrowse-ui').length === 2")
    links = [n for n in screen.nodes(page) if n.get("role", {}).get("value") == "link"]
    terms = [n for n in links if n.get("name", {}).get("value") == "Terms and conditions"]
    assert terms, "no terms link"
    assert "Share your screen with an agent?" in screen.texts(page)
    screen.click(page, "Decline")
    wait_for(page, "document.querySelectorAll('glance-cobrowse-ui').length === 1")
    assert api(page, "[V.inSession(), V.readyState]") == [False, "sessionend"]
    assert sockets.urls == [] and events(page) == []


def test_deprecated_visitor_show_terms_and_options(
    stack: Any, page: Page, screen: Any, wait_for: Wait
) -> None:
    page.goto(f"{stack.site}/api-page.html")
    error = throws(page, "V.showTerms({ sesionKey: 'typo' })")
    assert error is not None and 'unknown showTerms option "sesionKey"' in error["message"]
    api(page, "V.showTerms({ sessionKey: 'terms-options' })")
    wait_for(page, "document.querySelectorAll('glance-cobrowse-ui').length === 2")
    screen.click(page, "Accept")
    wait_live(page, wait_for)
    assert api(page, "V.getKey()") == "terms-options"
    stop(page, wait_for)


# --- custom UI mode --------------------------------------------------------------------------------------------


def test_custom_ui_holds_events_until_set_ui_ready(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/custom-late.html")
    # No default UI.
    assert page.evaluate("document.querySelectorAll('glance-cobrowse-ui').length") == 0
    page.evaluate("ready()")
    start(page, wait_for, "custom-held")
    with page.expect_navigation():
        page.click("#again")
    # The session continues on the new page at once, while the page's UI is not ready ...
    wait_for(page, "GLANCE.Cobrowse.Visitor.readyState === 'statereceived'")
    assert page.evaluate("window.heard") == []
    assert names(page) == []  # (listeners added at load are held as well)
    # ... and it hears everything, in order, once it says it is ready.
    page.evaluate("ready()")
    assert page.evaluate("window.heard") == [
        {"name": "sessioncontinue", "afterReady": True},
        {"name": "statereceived", "afterReady": True},
    ]
    assert names(page) == ["sessioncontinue", "statereceived", "focus"]
    # From then on, events arrive as they happen.
    api(page, "V.stopSession()")
    assert page.evaluate("window.heard")[-1] == {"name": "sessionend", "afterReady": True}


def test_custom_ui_sample_in_the_demo(stack: Any, page: Page, agent: Agent, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/custom.html")
    assert page.evaluate("document.querySelectorAll('glance-cobrowse-ui').length") == 0
    page.fill("#custom-key", "custom-sample")
    page.click("#start-share")
    wait_for(page, "document.getElementById('share-key').textContent === 'custom-sample'")
    assert page.is_visible("#share-key-box") and page.is_visible("#stop-share")
    console = agent()
    console.evaluate(
        "window.got = []; CobrowseAgent.addSessionMessageListener('chat', (n, m) => window.got.push(m))"
    )
    watch(console, "custom-sample", wait_for)
    wait_for(page, "document.getElementById('share-agents').textContent.includes('watching')")

    # Messages both ways.
    console.evaluate("CobrowseAgent.sendSessionMessage('chat', { text: 'How can I help?' })")
    wait_for(page, "document.getElementById('chat-log').textContent.includes('Advisor: How can I help?')")
    page.fill("#chat-text", "Where is my card?")
    page.click("#chat-send")
    assert wait_for(console, "window.got.length && window.got") == [{"text": "Where is my card?"}]

    # Pause: the agent's view is covered by the sample's message.
    page.click("#pause-share")
    wait_for(console, "!document.getElementById('cb-pause-cover').hidden")
    assert "The visitor is on a private step." in console.inner_text("#cb-pause-message")
    assert page.inner_text("#pause-share") == "Resume sharing"
    page.click("#pause-share")
    wait_for(console, "document.getElementById('cb-pause-cover').hidden")

    # The conversation survives a reload (user state, read at statereceived).
    page.reload()
    wait_for(page, "document.getElementById('chat-log').textContent.includes('You: Where is my card?')")
    assert page.inner_text("#share-key") == "custom-sample"
    page.click("#stop-share")
    wait_for(page, "document.getElementById('share-status').textContent.includes('by you')")


# --- TypeScript declarations -------------------------------------------------------------------------------


def test_typescript_declarations_are_published(stack: Any) -> None:
    with urllib.request.urlopen(f"{stack.server}/static/visitor.d.ts") as response:  # noqa: S310 (local server)
        text = response.read().decode()
    for member in [
        "addEventListener",
        "removeEventListener",
        "addSessionMessageListener",
        "sendSessionMessage",
        "setUserState",
        "getUserState",
        "setCookieValue",
        "getCookieValue",
        "getSessionState",
        "pauseSession",
        "isSessionPaused",
        "notifyChanged",
        "setStartParams",
        "getStartParams",
        "startSession",
        "stopSession",
        "showTerms",
        "isMobile",
        "isRandomKey",
        "getKey",
        "getCallId",
        "inSession",
        "readyState",
        "READYSTATE",
        "setUIReady",
        "VisitorUI",
    ]:
        assert re.search(rf"\b{member}\b", text), member
