"""Remote control on the visitor's side, in real Chromium, with the agent on a raw WebSocket (support/rc_agent.py).

- Consent: an agent's request raises ``rcrequested`` and the default UI's prompt (Allow / Deny); ``enableRC``;
  the banner's Stop button; an agent's release; ``rc`` events on the visitor's side and ``rc`` messages to agents.
- Actions on the demo's form (text, a React-style controlled input, a select, a checkbox, a radio, submit) and
  on the test page (keys, double click, scrolling the page and a box, text selection, a link to the next page).
- Limits: with control off, declined, taken back or suspended by the visitor's own input, commands change
  nothing on the page; masked inputs, passwords, ``glance_norc``, ``javascript:`` links and form actions, file
  pickers and iframe content are out of reach; a stale epoch or a forged node id does nothing.

A dropped command leaves a ``console.debug`` line ("cobrowse: remote control: OP dropped: WHY"); tests wait for
it (or for a later command's effect: commands are applied in order) before checking that nothing changed.
Keys are distinct per test: the module shares one demo stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from support.rc_agent import RawAgent
from support.visitor_pages import EVENT_NAMES, RECORDER, api, start, throws

Wait = Callable[..., Any]

#: The visitor-page event recorder of the visitor API tests, with the remote-control events added, and the
#: latest ``rcrequested`` payload kept whole (its accept / decline) in ``window.__rcRequest``.
RC_RECORDER = RECORDER.replace(json.dumps(EVENT_NAMES), json.dumps([*EVENT_NAMES, "rc", "rcrequested"]))
KEEP_REQUEST = """
document.addEventListener("load", (event) => {
  const visitor = window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor;
  if (!(event.target instanceof HTMLScriptElement) || !visitor || window.__keeping) return;
  window.__keeping = true;
  visitor.addEventListener("rcrequested", (request) => { window.__rcRequest = request; });
}, true);
"""
#: Remote control logs each dropped command with console.debug; the page keeps those lines in ``__debug``.
KEEP_DEBUG = """
window.__debug = [];
const debug = console.debug.bind(console);
console.debug = (...args) => { window.__debug.push(args.map(String).join(" ")); debug(...args); };
"""


class Visitor:
    """The visitor's page, recording visitor events and remote control's console lines."""

    def __init__(self, page: Page) -> None:
        self.page = page
        for script in (RC_RECORDER, KEEP_REQUEST, KEEP_DEBUG):
            page.context.add_init_script(script)

    def rc_events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.page.evaluate("window.__events")
        return [e["payload"] for e in events if e["name"] == "rc"]

    def wait_dropped(self, wait_for: Wait, op: str, why: str) -> None:
        """Wait for the console line of a dropped ``op`` command whose reason contains ``why``."""
        wait_for(
            self.page,
            "([prefix, why]) => window.__debug.some((line) => line.startsWith(prefix) && line.includes(why))",
            arg=[f"cobrowse: remote control: {op} dropped: ", why],
        )


@pytest.fixture
def person(visitor: Page) -> Visitor:
    return Visitor(visitor)


@pytest.fixture
def agents(stack: Any) -> Iterator[Callable[[str], RawAgent]]:
    opened: list[RawAgent] = []

    def open_agent(key: str) -> RawAgent:
        agent = RawAgent(stack.server, key)
        opened.append(agent)
        return agent

    yield open_agent
    for agent in opened:
        agent.close()


def begin(stack: Any, person: Visitor, wait_for: Wait, page: str, key: str) -> None:
    person.page.goto(f"{stack.site}/{page}")
    start(person.page, wait_for, key)


def enable(person: Visitor, agent: RawAgent, wait_for: Wait) -> None:
    """The site turns control on (``enableRC(true)``); wait until the agents know."""
    mark = agent.mark()
    api(person.page, "V.enableRC(true)")
    agent.wait_rc(since=mark, enabled=True)


def value(page: Page, html_id: str) -> Any:
    return page.evaluate("(id) => document.getElementById(id).value", html_id)


# --- consent --------------------------------------------------------------------------------------------------


def test_an_agent_fills_in_and_submits_the_demo_form_once_the_visitor_allows_it(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], screen: Any, wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "form.html", "rc-form")
    agent = agents("rc-form")
    assert agent.joined["rc"] == {"enabled": False, "suspended": False}
    agent.node_id("name")

    agent.send(t="rc_request", num=0, name="")
    wait_for(page, "() => window.__rcRequest")
    request = page.evaluate(
        "({ name: __rcRequest.name, num: __rcRequest.num, selective: __rcRequest.selective })"
    )
    assert request == {"name": "Demo Agent", "num": agent.num, "selective": False}
    assert "Agent Demo Agent asks to control your page." in screen.texts(page)
    mark = agent.mark()
    screen.click(page, "Allow")
    agent.wait_rc(since=mark, enabled=True)
    wait_for(page, "() => window.__events.some((e) => e.name === 'rc' && e.payload.enabled)")
    assert person.rc_events() == [{"enabled": True, "suspended": False}]
    assert "Demo Agent is controlling your page" in screen.texts(page)
    assert "Allow" not in screen.buttons(page)

    agent.control("click", "name", x=0.2, y=0.5)
    agent.control("text", "name", text="Jane Doe")
    agent.control("click", "phone")
    for key in "+1 555":
        agent.control("key", "phone", key=key)
    agent.control("select", "account-type", index=2, text="savings")
    agent.control("click", "terms", x=0.5, y=0.5)
    agent.control("click", "contact-phone")
    agent.control("click", "message")
    agent.control("text", "message", text="Call me\nin the morning")
    agent.control("click", "submit")
    wait_for(page, "() => !document.getElementById('result').hidden")
    assert page.evaluate("document.getElementById('result').textContent") == (
        "Thank you, Jane Doe. Your application is being reviewed. Account: savings; contact by phone;"
        " phone: +1 555; terms accepted."
    )
    assert page.evaluate("window.demoPhoneState()") == "+1 555"
    assert value(page, "message") == "Call me\nin the morning"
    assert page.evaluate("document.getElementById('phone-echo').textContent") == "+1 555"


def test_declined_or_off_control_changes_nothing_and_a_stale_answer_does_nothing(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], screen: Any, wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "rc-page.html", "rc-decline")
    agent = agents("rc-decline")

    # Not enabled: the server refuses and the page is untouched.
    mark = agent.mark()
    agent.control("click", "name")
    agent.control("text", "name", text="not allowed")
    agent.wait(lambda m: m["t"] == "error" and m["code"] == "rcoff", since=mark)

    agent.send(t="rc_request", num=0, name="")
    wait_for(page, "() => window.__rcRequest")
    mark = agent.mark()
    screen.click(page, "Deny")
    declined = agent.wait_rc(since=mark, declined=True)
    assert declined["enabled"] is False
    assert "Deny" not in screen.buttons(page)
    # Answering the same request again, either way, does nothing: it was answered.
    page.evaluate("__rcRequest.accept(); __rcRequest.decline()")
    assert api(page, 'V.getSessionState("rc")') == {"enabled": False, "suspended": False}
    mark = agent.mark()
    agent.control("click", "counter")
    agent.wait(lambda m: m["t"] == "error" and m["code"] == "rcoff", since=mark)
    assert value(page, "name") == ""
    assert page.evaluate("window.__seen") == []
    assert person.rc_events() == []

    # A second request answered through the event (a site's own UI) while the first is stale.
    agent.send(t="rc_request", num=0, name="")
    wait_for(page, "() => document.querySelectorAll('glance-cobrowse-ui').length > 1")
    wait_for(page, "() => window.__events.filter((e) => e.name === 'rcrequested').length === 2")
    mark = agent.mark()
    page.evaluate("__rcRequest.accept()")
    agent.wait_rc(since=mark, enabled=True)
    assert "Deny" not in screen.buttons(page)  # the prompt went with the answer
    agent.control("text", "name", text="now allowed")
    wait_for(page, "() => document.getElementById('name').value === 'now allowed'")


def test_enable_rc_the_stop_button_and_an_agents_release(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], screen: Any, wait_for: Wait
) -> None:
    page = person.page
    page.goto(f"{stack.site}/rc-page.html")
    wait_for(page, "() => window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    assert throws(page, "V.enableRC(true)")["code"] == "notinsession"  # type: ignore[index]
    start(page, wait_for, "rc-enable")
    agent = agents("rc-enable")
    for bad in ("'yes'", "1", "undefined", "null"):
        assert throws(page, f"V.enableRC({bad})")["code"] == "invalidparams"  # type: ignore[index]
    assert api(page, 'V.getSessionState("rc")') == {"enabled": False, "suspended": False}

    enable(person, agent, wait_for)
    assert api(page, 'V.getSessionState("rc")') == {"enabled": True, "suspended": False}
    # The site enabled it: the banner names the only agent in the session.
    assert "Demo Agent is controlling your page" in screen.texts(page)
    agent.control("text", "name", text="first")
    wait_for(page, "() => document.getElementById('name').value === 'first'")

    # The visitor stops it with the banner's button.
    mark = agent.mark()
    screen.click(page, "Stop remote control")
    agent.wait_rc(since=mark, enabled=False)
    assert person.rc_events() == [
        {"enabled": True, "suspended": False},
        {"enabled": False, "suspended": False},
    ]
    assert not any("controlling your page" in t for t in screen.texts(page))
    mark = agent.mark()
    agent.control("text", "name", text="after stop")
    agent.wait(lambda m: m["t"] == "error" and m["code"] == "rcoff", since=mark)
    assert value(page, "name") == "first"

    # On again, then the agent gives control back: the visitor's page hears it.
    enable(person, agent, wait_for)
    agent.send(t="rc_release")
    wait_for(page, "() => window.__events.filter((e) => e.name === 'rc').length === 4")
    assert person.rc_events()[-1] == {"enabled": False, "suspended": False}
    assert api(page, 'V.getSessionState("rc")') == {"enabled": False, "suspended": False}
    assert not any("controlling your page" in t for t in screen.texts(page))

    # enableRC(false) turns it off from the site's side; the session's end ends it too.
    enable(person, agent, wait_for)
    mark = agent.mark()
    api(page, "V.enableRC(false)")
    agent.wait_rc(since=mark, enabled=False)
    enable(person, agent, wait_for)
    api(page, "V.stopSession()")
    wait_for(page, "() => window.__events.some((e) => e.name === 'sessionend')")
    names = [e["name"] for e in page.evaluate("window.__events")]
    assert names[-2:] == ["rc", "sessionend"] and person.rc_events()[-1]["enabled"] is False
    assert page.evaluate("document.querySelectorAll('glance-cobrowse-ui').length") == 1  # the default UI only


def test_the_visitors_own_input_suspends_control_for_a_moment(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "rc-page.html", "rc-suspend")
    agent = agents("rc-suspend")
    enable(person, agent, wait_for)
    agent.node_id("counter")

    mark = agent.mark()
    page.mouse.wheel(0, 40)  # trusted input of the visitor's own
    agent.wait_rc(since=mark, enabled=True, suspended=True)
    assert api(page, 'V.getSessionState("rc")') == {"enabled": True, "suspended": True}
    agent.control("click", "counter")
    person.wait_dropped(wait_for, "click", "control is not active")
    # It lapses a moment after the visitor's last input; then commands act again.
    agent.wait_rc(since=mark, enabled=True, suspended=False)
    wait_for(page, "() => !GLANCE.Cobrowse.Visitor.getSessionState('rc').suspended")
    agent.control("click", "counter")
    wait_for(page, "() => window.__seen.includes('click:counter')")
    assert page.evaluate("window.__seen.filter((s) => s === 'click:counter').length") == 1
    assert person.rc_events() == [
        {"enabled": True, "suspended": False},
        {"enabled": True, "suspended": True},
        {"enabled": True, "suspended": False},
    ]
    # Moving the mouse across the page counts too.
    mark = agent.mark()
    page.mouse.move(300, 300)
    page.mouse.move(340, 330)
    agent.wait_rc(since=mark, enabled=True, suspended=True)


# --- actions --------------------------------------------------------------------------------------------------


def test_keys_tab_backspace_enter_escape_arrows_and_a_double_click(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "rc-page.html", "rc-keys")
    agent = agents("rc-keys")
    enable(person, agent, wait_for)

    agent.control("click", "name")
    for key in "Jo3":
        agent.control("key", key=key)  # id 0: the focused element
    agent.control("key", key="Backspace")
    agent.control("key", key="ArrowLeft")
    agent.control("key", key="n")
    wait_for(page, "() => document.getElementById('name').value === 'Jno'")
    # Tab moves on (and the field that lost the focus fires change); typing goes to the next field.
    agent.control("key", key="Tab")
    agent.control("text", text="1234567")  # maxlength 5
    wait_for(page, "() => document.getElementById('limited').value === '12345'")
    assert page.evaluate("document.activeElement.id") == "limited"
    assert "change:name" in page.evaluate("window.__seen")
    agent.control("key", key="Tab", shift=True)
    wait_for(page, "() => document.activeElement.id === 'name'")

    # Escape reaches the page's listeners; Enter in a textarea breaks the line.
    agent.control("key", key="Escape")
    agent.control("click", "notes")
    agent.control("text", text="one")
    agent.control("key", key="Enter")
    agent.control("key", key="t")
    wait_for(page, "() => document.getElementById('notes').value === 'one\\nt'")
    assert "keydown:Escape" in page.evaluate("window.__seen")

    # Arrows on a select change its option (with change), as the browser does.
    agent.control("focus", "pick")
    agent.control("key", "pick", key="ArrowDown")
    wait_for(page, "() => document.getElementById('pick').value === 'b'")
    agent.control("key", "pick", key="ArrowDown")
    agent.control("key", "pick", key="ArrowUp")
    agent.control("key", "pick", key="ArrowUp")
    wait_for(page, "() => window.__seen.filter((s) => s === 'change:pick').length === 4")
    assert value(page, "pick") == "a"

    # a double click: the console sends the first press as a click, then dblclick (the second press + dblclick)
    agent.control("click", "counter")
    agent.control("dblclick", "counter")
    wait_for(page, "() => window.__seen.includes('dblclick:counter')")
    seen = page.evaluate("window.__seen")
    assert seen[-3:] == ["click:counter", "click:counter", "dblclick:counter"]


def test_scrolling_the_page_and_an_inner_box_and_selecting_text(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "rc-page.html", "rc-scroll")
    agent = agents("rc-scroll")
    enable(person, agent, wait_for)

    agent.control("scroll", dy=300)  # id 0: the page
    wait_for(page, "() => window.scrollY === 300")
    agent.control("scroll", "box-content", dy=250)  # the box scrolls, not the page
    wait_for(page, "() => document.getElementById('box').scrollTop === 250")
    assert page.evaluate("window.scrollY") == 300
    agent.control("scroll", "filler", dy=-100)  # nothing scrollable around it: the page
    wait_for(page, "() => window.scrollY === 200")
    agent.control("click", "box-content")
    agent.control("key", key="PageDown")
    wait_for(page, "() => document.getElementById('box').scrollTop > 250")
    assert page.evaluate("window.scrollY") == 200

    epoch, para = agent.node("para")
    text_id = para["childNodes"][0]["id"]
    agent.control("selecttext", id=text_id, epoch=epoch, offset=4, end_id=text_id, end_offset=15)
    wait_for(page, "() => document.getSelection().toString() === 'quick brown'")
    agent.control("text", "name", text="Hello world")
    agent.control("selecttext", "name", offset=6, end_offset=11)
    agent.control("key", key="W")
    wait_for(page, "() => document.getElementById('name').value === 'Hello W'")


def test_a_click_on_a_link_navigates_and_control_continues_on_the_next_page(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], screen: Any, wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "rc-page.html", "rc-navigate")
    agent = agents("rc-navigate")
    enable(person, agent, wait_for)
    with page.expect_navigation():
        agent.control("click", "to-second")
    wait_for(page, "() => GLANCE.Cobrowse.Visitor.readyState === 'statereceived'")
    assert api(page, 'V.getSessionState("rc")') == {"enabled": True, "suspended": False}
    wait_for(page, "() => window.__events.some((e) => e.name === 'rc' && e.payload.enabled)")
    assert "Demo Agent is controlling your page" in screen.texts(page)
    agent.control("click", "second-input")
    agent.control("text", "second-input", text="still in control")
    wait_for(page, "() => document.getElementById('second-input').value === 'still in control'")


# --- limits ---------------------------------------------------------------------------------------------------


def test_masked_inputs_and_passwords_refuse_typing(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "form.html", "rc-masked")
    agent = agents("rc-masked")
    enable(person, agent, wait_for)

    for field in ("card-number", "cvc", "password"):
        agent.control("click", field)
        person.wait_dropped(wait_for, "click", "masked")
        agent.control("text", field, text="4111")
        person.wait_dropped(wait_for, "text", "masked")
        agent.control("key", field, key="4")
        person.wait_dropped(wait_for, "key", "masked")
    # The visitor's own focus in a masked field: typing at "the focused element" is refused too.
    page.evaluate("document.getElementById('card-number').focus()")
    agent.control("key", key="9")
    agent.control("text", text="9999")
    agent.control("text", "name", text="marker")
    wait_for(page, "() => document.getElementById('name').value === 'marker'")
    assert [value(page, f) for f in ("card-number", "cvc", "password")] == ["", "", ""]


def test_glance_norc_masked_boxes_script_urls_file_pickers_and_iframes_are_out_of_reach(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "rc-page.html", "rc-refused")
    agent = agents("rc-refused")
    enable(person, agent, wait_for)

    for target in ("norc", "js-link", "js-link-2-text", "svg-rect", "xlink-rect", "js-submit", "file"):
        agent.control("click", target)
        agent.control("dblclick", target)
    # The masked box is recorded as an empty box without its attributes: the element before the form.
    epoch, masked_box = agent.element_before("js-form")
    agent.control("click", id=masked_box, epoch=epoch)
    person.wait_dropped(wait_for, "click", "masked")
    agent.control("click", "js-field")
    agent.control("text", "js-field", text="x")
    agent.control("key", "js-field", key="Enter")  # implicit submission to a javascript: action
    agent.control("key", "norc", key="Enter")
    agent.control("focus", "norc")
    # The input inside the iframe is recorded, but it is another document.
    epoch, inner = agent.node_id("inner")
    agent.control("text", id=inner, epoch=epoch, text="in the frame")
    person.wait_dropped(wait_for, "text", "no such node")
    agent.control("click", "counter")  # a marker: commands are applied in order
    wait_for(page, "() => window.__seen.includes('click:counter')")

    seen = page.evaluate("window.__seen")
    assert seen == ["click:js-field", "keydown:Enter", "change:js-field", "click:counter"], seen
    assert page.evaluate("window.__pwned") is None
    assert value(page, "js-field") == "x"
    assert page.evaluate("document.activeElement.id") == "counter"
    assert (
        page.evaluate("document.getElementById('frame').contentDocument.getElementById('inner').value") == ""
    )
    assert page.url.endswith("/rc-page.html")


def test_a_stale_epoch_or_a_forged_node_id_does_nothing(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "rc-page.html", "rc-epochs")
    agent = agents("rc-epochs")
    enable(person, agent, wait_for)
    old_epoch, old_id = agent.node_id("name")

    # Pausing and unpausing starts a new recording: new node ids, a new epoch.
    api(page, "V.pauseSession({ pause: true })")
    api(page, "V.pauseSession({ pause: false })")
    agent.wait(lambda m: m["t"] == "events" and m["snapshot"] and m["epoch"] > old_epoch)
    epoch, name_id = agent.node_id("name")
    assert epoch > old_epoch

    agent.control("text", id=name_id, epoch=old_epoch, text="old epoch")  # a node of today, an old epoch
    person.wait_dropped(wait_for, "text", f"epoch {old_epoch} is not of the current recording")
    agent.control("text", id=old_id, epoch=old_epoch, text="old node")
    agent.control("text", id=name_id, epoch=epoch + 5, text="future epoch")  # an epoch never sent
    person.wait_dropped(wait_for, "text", f"epoch {epoch + 5} is not")
    agent.control("click", id=987654, epoch=epoch)
    agent.control("text", id=987654, epoch=epoch, text="forged id")
    person.wait_dropped(wait_for, "text", "no such node")
    agent.control("text", id=name_id, epoch=epoch, text="current")
    wait_for(page, "() => document.getElementById('name').value === 'current'")
    assert page.evaluate("window.__seen") == []


def test_with_a_custom_ui_the_site_answers_and_the_banner_still_shows(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], screen: Any, wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "rc-custom.html", "rc-custom")
    agent = agents("rc-custom")
    agent.send(t="rc_request", num=0, name="")
    wait_for(page, "() => window.__rcRequest")
    assert "Allow" not in screen.buttons(page)  # no prompt of ours: the site's UI asks
    mark = agent.mark()
    page.evaluate("__rcRequest.accept()")
    agent.wait_rc(since=mark, enabled=True)
    assert "Stop remote control" in screen.buttons(page)
    agent.control("text", "field", text="typed by the agent")
    wait_for(page, "() => document.getElementById('field').value === 'typed by the agent'")
    mark = agent.mark()
    screen.click(page, "Stop remote control")
    agent.wait_rc(since=mark, enabled=False)


def _shadow_element(page: Page, class_name: str) -> dict[str, str] | None:
    """The attributes of the first element with this class, closed shadow roots included (through CDP)."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    finally:
        cdp.detach()
    stack = [root]
    while stack:
        node = stack.pop()
        values = node.get("attributes", [])
        attributes = dict(zip(values[0::2], values[1::2], strict=True))
        if class_name in attributes.get("class", "").split():
            return attributes
        stack.extend(node.get("children", []) + node.get("shadowRoots", []))
    return None


def test_the_agents_pointer_shows_where_it_points_and_goes_with_control(
    stack: Any, person: Visitor, agents: Callable[[str], RawAgent], wait_for: Wait
) -> None:
    page = person.page
    begin(stack, person, wait_for, "rc-page.html", "rc-pointer")
    agent = agents("rc-pointer")
    enable(person, agent, wait_for)
    box = page.evaluate(
        "(() => { const r = document.getElementById('counter').getBoundingClientRect();"
        " return [r.left, r.top, r.width, r.height]; })()"
    )
    agent.control("move", "counter", x=0.25, y=0.5)
    agent.control("text", "name", text="moved")  # a marker: commands are applied in order
    wait_for(page, "() => document.getElementById('name').value === 'moved'")
    pointer = _shadow_element(page, "pointer")
    assert pointer is not None
    x, y = round(box[0] + 0.25 * box[2]), round(box[1] + 0.5 * box[3])
    assert f"translate({x}px, {y}px)" in pointer["style"]
    assert page.evaluate("window.__seen") == []  # a move only shows the pointer
    mark = agent.mark()
    api(page, "V.enableRC(false)")
    agent.wait_rc(since=mark, enabled=False)
    assert _shadow_element(page, "pointer") is None
