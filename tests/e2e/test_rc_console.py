"""Remote control from the agent console, end to end: the agent asks, the visitor allows, and the agent's real
mouse and keyboard over the console's view (Playwright's, at the on-screen position of elements of the replay)
fill in and submit the demo's form on the visitor's page.

Also: a declined request, control granted by the site (``enableRC``), taken back by the visitor and released by
the agent (the view takes no input then, and nothing is sent), an agent without ``remote_control`` (the button
is disabled and the server refuses the API), and a guest (no control UI at all). Keys are distinct per test: the
module shares one demo stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page, WebSocket

if TYPE_CHECKING:  # the fixtures' types; conftest modules are not imported at run time
    from conftest import AgentFactory, Screen, Stack, _Pages

Wait = Callable[..., Any]
PASSWORD = "rc-console-password-1"

#: The on-screen box (console client coordinates) of the replay's element matching the selector ``arg``, and
#: whether it lies inside the replay's viewport; false while the replay does not have it.
_SCREEN_BOX = """(sel) => {
  const frame = window.CobrowseAgent && window.CobrowseAgent.replayFrame();
  const doc = frame && frame.contentDocument;
  const el = doc && doc.querySelector(sel);
  if (!el) return false;
  const r = el.getBoundingClientRect();
  const f = frame.getBoundingClientRect();
  const scale = f.width / frame.offsetWidth;
  return {
    x: f.left + (r.left + r.width / 2) * scale, y: f.top + (r.top + r.height / 2) * scale,
    top: r.top, bottom: r.bottom, viewport: frame.clientHeight,
    inView: r.top >= 0 && r.bottom <= frame.clientHeight,
  };
}"""


def start_session(visitor: Page, url: str, key: str, wait_for: Wait) -> None:
    """Open ``url`` as the visitor, record its ``rc`` events (``window.__rc``) and how many requests for
    control it got (``window.__asked``; the default UI asks the visitor too), and start a session."""
    visitor.goto(url)
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate(
        """(key) => {
             window.__rc = []; window.__asked = 0;
             GLANCE.Cobrowse.Visitor.addEventListener("rc", (e) => window.__rc.push({ enabled: e.enabled }));
             GLANCE.Cobrowse.Visitor.addEventListener("rcrequested", () => { window.__asked += 1; });
             GLANCE.Cobrowse.Visitor.startSession(key);
           }""",
        key,
    )
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true")


def join(console: Page, key: str, wait_for: Wait, ready: str = "#name") -> None:
    """Join through the console's API, recording the console's ``rc`` and ``error`` events, until the replay
    shows ``ready``."""
    console.evaluate(
        """(key) => {
             window.__rc = []; window.__errors = [];
             CobrowseAgent.on("rc", (e) => window.__rc.push(e));
             CobrowseAgent.on("error", (e) => window.__errors.push(e));
             return CobrowseAgent.join(key);
           }""",
        key,
    )
    wait_for(console, _SCREEN_BOX, arg=ready)


def status(console: Page) -> str:
    """The console's remote-control status line ("" while hidden)."""
    line = console.locator("#cb-rc-status")
    return "" if line.is_hidden() else (line.text_content() or "")


def ask(console: Page, visitor: Page, screen: Screen, answer: str, wait_for: Wait) -> None:
    """The agent's "Request control", and the visitor's ``answer`` ("Allow" or "Deny") in the default prompt
    (in a closed shadow root: clicked through the accessibility tree)."""
    asked = visitor.evaluate("window.__asked")
    wait_for(console, "!document.getElementById('cb-rc').disabled")
    console.locator("#cb-rc").click()
    wait_for(console, "document.getElementById('cb-rc-status').textContent === 'Waiting for the visitor…'")
    assert console.locator("#cb-rc").is_disabled()  # while the visitor is asked
    wait_for(visitor, "(n) => window.__asked > n", arg=asked)
    screen.click(visitor, answer)


def request_and_allow(console: Page, visitor: Page, screen: Screen, wait_for: Wait) -> None:
    """Ask, the visitor allows, until the agent has control."""
    ask(console, visitor, screen, "Allow", wait_for)
    wait_for(console, "CobrowseAgent.rc.enabled === true")
    assert status(console) == "You have control"
    assert console.locator("#cb-rc").text_content() == "Release control"
    assert console.locator("#cb-rc-overlay").is_visible()


def box(console: Page, selector: str, wait_for: Wait) -> dict[str, Any]:
    """The replay element's on-screen box; the agent scrolls the visitor's page (the wheel over the view)
    until the element is inside the replay's viewport."""
    for _ in range(5):
        where: dict[str, Any] = wait_for(console, _SCREEN_BOX, arg=selector)
        if where["inView"]:
            return where
        delta = where["top"] - where["viewport"] / 3
        console.mouse.move(where["x"], min(max(where["y"], 80), 400))
        center = console.evaluate(
            "() => { const r = document.getElementById('cb-rc-overlay').getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; }"
        )
        console.mouse.move(center["x"], center["y"])
        console.mouse.wheel(0, delta)
        wait_for(
            console,
            f"(sel) => {{ const b = ({_SCREEN_BOX})(sel); return b && b.top !== {where['top']}; }}",
            arg=selector,
        )
    raise AssertionError(f"scrolling never brought {selector} into the replay's viewport")


def click(console: Page, selector: str, wait_for: Wait) -> None:
    """A real mouse click on the console's view, where the replay shows ``selector``."""
    where = box(console, selector, wait_for)
    console.mouse.click(where["x"], where["y"])


def test_agent_fills_in_the_form_through_the_console(
    stack: Stack, visitor: Page, agent: AgentFactory, screen: Screen, wait_for: Wait, wait_until_equal: Wait
) -> None:
    start_session(visitor, f"{stack.site}/form.html", "rc-console-form", wait_for)
    console = agent()
    join(console, "rc-console-form", wait_for)
    # outside control the view takes no input
    assert console.locator("#cb-rc-overlay").is_hidden()
    assert console.locator("#cb-rc").text_content() == "Request control"
    request_and_allow(console, visitor, screen, wait_for)
    wait_until_equal(visitor, "window.__rc.map((e) => e.enabled)", [True])

    # a drag over the heading's text selects that text on the visitor's page
    text = console.evaluate(
        """() => { const frame = CobrowseAgent.replayFrame(); const doc = frame.contentDocument;
                   const range = doc.createRange(); range.selectNodeContents(doc.querySelector("h1"));
                   const r = range.getBoundingClientRect(); const f = frame.getBoundingClientRect();
                   const scale = f.width / frame.offsetWidth;
                   return { left: f.left + r.left * scale, right: f.left + r.right * scale,
                            y: f.top + (r.top + r.height / 2) * scale }; }"""
    )
    console.mouse.move(text["left"] + 2, text["y"])
    console.mouse.down()
    console.mouse.move((text["left"] + text["right"]) / 2, text["y"], steps=4)
    console.mouse.up()
    selected = wait_for(visitor, "() => String(window.getSelection()).trim()")
    assert selected in "Apply for the Platinum card" and len(selected) > 5

    click(console, "#name", wait_for)
    console.keyboard.type("Jane Doe")
    wait_until_equal(visitor, "document.getElementById('name').value", "Jane Doe")
    # Tab moves the visitor's focus (not the console's): the next keys go to the email field
    console.keyboard.press("Tab")
    wait_until_equal(visitor, "document.activeElement && document.activeElement.id", "email")
    console.keyboard.type("jane@example.com")
    wait_until_equal(visitor, "document.getElementById('email').value", "jane@example.com")

    click(console, "#phone", wait_for)  # React-style: only real edits reach its state
    console.keyboard.type("+1 555 0199")
    wait_until_equal(visitor, "window.demoPhoneState()", "+1 555 0199")
    console.keyboard.press("Backspace")
    wait_until_equal(visitor, "window.demoPhoneState()", "+1 555 019")

    click(console, "#account-type", wait_for)  # the console's own list of the select's options
    options = console.locator("#cb-rc-select [role=option]")
    assert options.evaluate_all("(els) => els.map((e) => e.dataset.value)") == [
        "everyday",
        "platinum",
        "savings",
        "business",
    ]
    console.locator('#cb-rc-select [data-value="savings"]').click()
    wait_until_equal(visitor, "document.getElementById('account-type').value", "savings")
    assert console.locator("#cb-rc-select").is_hidden()

    click(console, "#contact-phone", wait_for)
    wait_until_equal(visitor, "document.getElementById('contact-phone').checked", True)
    click(console, "#terms", wait_for)
    wait_until_equal(visitor, "document.getElementById('terms').checked", True)

    # a paste goes in as text
    click(console, "#message", wait_for)
    console.evaluate(
        """() => { const data = new DataTransfer(); data.setData("text/plain", "Call me after 5pm");
                   document.getElementById("cb-rc-overlay").dispatchEvent(
                     new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true })); }"""
    )
    wait_until_equal(visitor, "document.getElementById('message').value", "Call me after 5pm")

    click(console, "#submit", wait_for)
    assert visitor.evaluate("window.scrollY") > 0  # the wheel over the view scrolled the visitor's page to it
    result = wait_for(
        visitor,
        "() => { const r = document.getElementById('result'); return !r.hidden && r.textContent; }",
    )
    assert "Thank you, Jane Doe." in result
    assert "Account: savings" in result
    assert "contact by phone" in result
    assert "phone: +1 555 019;" in result
    assert "terms accepted" in result
    # and the agent sees the result in its view
    wait_for(console, _SCREEN_BOX, arg="#result:not([hidden])")


def test_declined_then_enabled_by_the_site_then_released(
    stack: Stack, visitor: Page, agent: AgentFactory, screen: Screen, wait_for: Wait, wait_until_equal: Wait
) -> None:
    start_session(visitor, f"{stack.site}/form.html", "rc-console-release", wait_for)
    console = agent()
    sockets: list[WebSocket] = []
    frames: list[dict[str, Any]] = []
    console.on("websocket", lambda ws: sockets.append(ws))
    console.on(
        "websocket",
        lambda ws: ws.on("framesent", lambda payload: frames.append(json.loads(payload))),
    )
    join(console, "rc-console-release", wait_for)

    ask(console, visitor, screen, "Deny", wait_for)
    wait_for(console, "CobrowseAgent.rc.declined === true")
    assert status(console) == "The visitor declined"
    assert console.locator("#cb-rc-overlay").is_hidden()
    assert console.evaluate("CobrowseAgent.rc") == {
        "enabled": False,
        "suspended": False,
        "declined": True,
        "requested": False,
    }

    # the site turns control on without asking: the agent has it
    visitor.evaluate("GLANCE.Cobrowse.Visitor.enableRC(true)")
    wait_for(console, "CobrowseAgent.rc.enabled === true")
    assert status(console) == "You have control"
    click(console, "#terms", wait_for)
    wait_until_equal(visitor, "document.getElementById('terms').checked", True)

    # the visitor takes it back: the view takes no input at once
    visitor.evaluate("GLANCE.Cobrowse.Visitor.enableRC(false)")
    wait_for(console, "CobrowseAgent.rc.enabled === false")
    assert console.locator("#cb-rc-overlay").is_hidden()
    assert status(console) == ""

    # on again, then the agent releases it: off for the visitor too, and the view sends nothing more
    visitor.evaluate("GLANCE.Cobrowse.Visitor.enableRC(true)")
    wait_for(console, "CobrowseAgent.rc.enabled === true")
    where = box(console, "#terms", wait_for)
    console.locator("#cb-rc").click()
    assert console.evaluate("CobrowseAgent.rc.enabled") is False  # at once, before the server confirms
    assert console.locator("#cb-rc-overlay").is_hidden()
    assert console.locator("#cb-rc").text_content() == "Request control"
    wait_until_equal(visitor, "window.__rc.map((e) => e.enabled)", [True, False, True, False])
    controls_before = sum(1 for f in frames if f.get("t") == "control")
    console.mouse.click(where["x"], where["y"])
    console.keyboard.type("x")
    # a frame sent after the click and the key: once it is seen, theirs would have been seen before it
    with sockets[-1].expect_event("framesent", lambda payload: "rc-probe" in payload):
        console.evaluate("CobrowseAgent.sendSessionMessage('rc-probe', {})")
    assert sum(1 for f in frames if f.get("t") == "control") == controls_before
    assert visitor.evaluate("document.getElementById('terms').checked") is True
    events = console.evaluate("window.__rc.map((e) => [e.enabled, e.declined, e.requested])")
    assert events[:2] == [[False, False, True], [False, True, False]]
    assert events[-1] == [False, False, False]
    assert console.evaluate("CobrowseAgent.state") == "joined"


def test_an_agent_without_remote_control_cannot_take_it(
    stack: Stack, visitor: Page, agent: AgentFactory, wait_for: Wait, wait_until_equal: Wait
) -> None:
    stack.cli("agent", "create", "--username", "rc-watcher", "--group", "1", "--password", PASSWORD)
    stack.cli("agent", "set-permissions", "--username", "rc-watcher", "--permission", "view")
    start_session(visitor, f"{stack.site}/form.html", "rc-console-noperm", wait_for)
    console = agent("rc-watcher", PASSWORD)
    join(console, "rc-console-noperm", wait_for)
    button = console.locator("#cb-rc")
    wait_for(console, "document.getElementById('cb-rc').title !== ''")
    assert button.is_visible() and button.is_disabled()
    assert "remote control" in (button.get_attribute("title") or "")

    # the API asks anyway: the server refuses, the session goes on
    console.evaluate("CobrowseAgent.requestControl()")
    wait_for(console, "window.__errors.some((e) => e.code === 'accessdenied')")
    assert console.evaluate("CobrowseAgent.rc.requested") is False
    # the site enables control: still nothing for this agent (no overlay; a command is refused)
    visitor.evaluate("GLANCE.Cobrowse.Visitor.enableRC(true)")
    wait_for(console, "CobrowseAgent.rc.enabled === true")
    assert console.locator("#cb-rc-overlay").is_hidden()
    console.evaluate("window.__errors.length = 0")
    console.evaluate("CobrowseAgent.control({ op: 'key', key: 'a' })")
    wait_for(console, "window.__errors.some((e) => e.code === 'accessdenied')")
    assert console.evaluate("CobrowseAgent.state") == "joined"
    # still watching: the view follows the visitor
    visitor.locator("#name").fill("Still watching")
    wait_for(
        console,
        "() => CobrowseAgent.replayFrame().contentDocument.getElementById('name').value === 'Still watching'",
    )
    assert visitor.evaluate("document.getElementById('terms').checked") is False


def test_a_guest_has_no_control(
    stack: Stack, visitor: Page, agent: AgentFactory, _pages: _Pages, wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/form.html", "rc-console-guest", wait_for)
    console = agent()
    join(console, "rc-console-guest", wait_for)
    invitation = console.evaluate("CobrowseAgent.inviteGuest()")
    guest = _pages.new_page("guest")
    guest.goto(invitation["url"])
    guest.locator("#cb-guest-name").fill("Gus Guest")
    guest.locator("#cb-guest-button").click()
    console.locator('#cb-guest-requests li:has-text("Gus Guest") [data-action="admit"]').click()
    wait_for(guest, "window.CobrowseAgent.state === 'joined'")

    visitor.evaluate("GLANCE.Cobrowse.Visitor.enableRC(true)")
    wait_for(console, "CobrowseAgent.rc.enabled === true")
    wait_for(console, "!document.getElementById('cb-rc-overlay').hidden")
    wait_for(guest, "CobrowseAgent.rc.enabled === true")
    assert guest.evaluate(
        "[document.getElementById('cb-rc'), document.getElementById('cb-rc-status'),"
        " document.getElementById('cb-rc-overlay')]"
    ) == [None, None, None]
