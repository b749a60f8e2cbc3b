"""Masking (docs/masking.md), tested like a security property: masked content never leaves the visitor's browser.

Every frame the visitor's page sends is captured with Chromium's DevTools WebSocket frame events (Playwright's
``framesent``), and every frame the server delivers is captured at the agents' consoles (``framereceived``);
secret markers (``SECRET_...``) placed in masked text, inputs, attributes, a textarea, a select, a canvas, shadow
roots and iframes must be in neither, whatever the page does. Visible markers (``VISIBLE_MARKER_...``) must be
there, so that a capture that sends nothing cannot pass.

The group's masking rules are set through the command line (``cobrowse group masking``); each test sets the
rules it needs first, since the module shares one demo stack (group 1). Keys are distinct per test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.sync_api import Page, Route, WebSocket

Wait = Callable[..., Any]
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"
SECRET = re.compile(r"SECRET_[A-Z0-9_]+")

#: A function body's prelude that finds the replayed document, for the expressions passed to ``in_replay``.
_REPLAY = (
    "const frame = window.CobrowseAgent && window.CobrowseAgent.replayFrame();"
    " const doc = frame && frame.contentDocument;"
    " if (!doc || !doc.body) return false;"
)


def in_replay(wait_for: Wait, page: Page, expression: str, arg: Any = None, timeout: float = 10_000) -> Any:
    """Wait until ``expression`` is truthy in the agent's replay (it can use ``doc``, ``frame``, ``arg``)."""
    return wait_for(page, f"(arg) => {{ {_REPLAY} return ({expression}); }}", arg=arg, timeout=timeout)


class Tap:
    """Every text frame a page sends (``framesent``) or receives (``framereceived``) on its WebSockets."""

    def __init__(self, page: Page, direction: Literal["framesent", "framereceived"]) -> None:
        self.frames: list[str] = []

        def frame(payload: bytes | str) -> None:
            self.frames.append(payload if isinstance(payload, str) else "<binary>")

        def opened(ws: WebSocket) -> None:
            if direction == "framesent":
                ws.on("framesent", frame)
            else:
                ws.on("framereceived", frame)

        page.on("websocket", opened)

    def text(self) -> str:
        return "\n".join(self.frames)

    def secrets(self) -> list[str]:
        return sorted(set(SECRET.findall(self.text())))

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(f) for f in self.frames if f.startswith("{")]

    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.messages() if m.get("t") == "events"]


@pytest.fixture
def group_rules(stack: Any) -> Iterator[Callable[..., None]]:
    """``group_rules("--selector", "#x", "--deny", "*y*")`` sets group 1's masking rules; cleared afterwards."""

    def set_rules(*args: str) -> None:
        stack.cli("group", "masking", "--id", "1", "--clear", *args)

    set_rules()
    yield set_rules
    set_rules()


def start_session(visitor: Page, url: str, key: str, wait_for: Wait) -> None:
    visitor.goto(url)
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate(
        "(key) => { window.maskingErrors = window.maskingErrors || []; window.errorEvents = [];"
        " GLANCE.Cobrowse.Visitor.addEventListener('maskingerror', (e) => window.maskingErrors.push(e));"
        " GLANCE.Cobrowse.Visitor.addEventListener('error', (e) => window.errorEvents.push(e));"
        " GLANCE.Cobrowse.Visitor.startSession(key); }",
        key,
    )
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true")


def join(console: Page, key: str) -> None:
    console.evaluate("(key) => window.CobrowseAgent.join(key)", key)


def masked_box(cls: str) -> str:
    """Replay expression: the element with class ``cls`` is a masked placeholder (rr-block, no content)."""
    return (
        f"(() => {{ const el = doc.querySelector('.{cls}');"
        " return !!el && el.classList.contains('rr-block') && el.childNodes.length === 0; })()"
    )


# --- the wire-tap test ----------------------------------------------------------------------------------


def test_masked_content_never_leaves_the_visitors_browser(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, group_rules: Callable[..., None]
) -> None:
    group_rules("--selector", "#group-masked", "--deny", "*masking-denied*")
    sent = Tap(visitor, "framesent")
    start_session(visitor, f"{stack.site}/masking-secrets.html", "mask-wire", wait_for)
    console = agent()
    received = Tap(console, "framereceived")
    join(console, "mask-wire")

    # first snapshot: visible content is there, every masked element is a placeholder
    in_replay(wait_for, console, "doc.getElementById('plain')?.textContent.includes('VISIBLE_MARKER_PLAIN')")
    for cls in (
        "box-text",
        "box-inline",
        "box-select",
        "box-canvas",
        "box-shadow",
        "box-iframe",
        "box-iframe-parent",
        "box-group",
        "box-hook",
    ):
        in_replay(wait_for, console, masked_box(cls))

    # typing into masked inputs, a controlled (React-style) input, a textarea, a password; a masked select
    visitor.locator("#m-input").fill("")
    visitor.locator("#m-input").press_sequentially("SECRET_TYPED_INPUT")
    visitor.locator("#m-controlled").press_sequentially("SECRET_TYPED_REACT")
    visitor.locator("#m-textarea").press_sequentially("SECRET_TYPED_TEXTAREA")
    visitor.locator("#pw").press_sequentially("SECRET_TYPED_PASSWORD")
    visitor.select_option("#m-select", "third")
    visitor.select_option("#sel-opt", "public")
    visitor.select_option("#sel-opt", "SECRET_MASKED_OPTION_VALUE")
    visitor.locator("#plain-input").press_sequentially("VISIBLE_MARKER_TYPED")
    in_replay(wait_for, console, "doc.getElementById('plain-input')?.value === 'VISIBLE_MARKER_TYPED'")
    in_replay(
        wait_for, console, "doc.getElementById('m-input')?.value === arg", arg="*" * len("SECRET_TYPED_INPUT")
    )
    in_replay(
        wait_for, console, "doc.getElementById('pw')?.value === arg", arg="*" * len("SECRET_TYPED_PASSWORD")
    )

    # the site sends its canvases' pictures (notifyChanged): the masked one's never goes
    gcids = visitor.evaluate(
        "['m-canvas', 'plain-canvas'].map((id) => document.getElementById(id).dataset.gcid)"
    )
    visitor.evaluate("(gcids) => GLANCE.Cobrowse.Visitor.notifyChanged({ canvas: { gcids } })", gcids)

    # a script changes masked text, attributes, values, shadow roots and iframes
    visitor.evaluate("window.changeMaskedContent()")
    in_replay(
        wait_for, console, "doc.getElementById('plain')?.textContent.includes('VISIBLE_MARKER_CHANGED')"
    )

    # an element becomes masked by a class change: a full update (new epoch) shows it as a placeholder
    epoch = console.evaluate("window.CobrowseAgent.epoch")
    visitor.evaluate("window.maskLater()")
    in_replay(wait_for, console, masked_box("box-later"))
    assert console.evaluate("window.CobrowseAgent.epoch") > epoch
    visitor.evaluate(
        "window.changeLater(); document.getElementById('plain').textContent = 'VISIBLE_MARKER_LATER2'"
    )
    in_replay(wait_for, console, "doc.getElementById('plain')?.textContent === 'VISIBLE_MARKER_LATER2'")

    # masked nodes inserted later, then changed
    visitor.evaluate("window.insertMasked()")
    in_replay(wait_for, console, "doc.body.textContent.includes('VISIBLE_MARKER_INSERTED')")
    in_replay(wait_for, console, masked_box("box-inserted"))
    visitor.evaluate(
        "window.changeInserted(); document.getElementById('plain').textContent = 'VISIBLE_MARKER_INS2'"
    )
    in_replay(wait_for, console, "doc.getElementById('plain')?.textContent === 'VISIBLE_MARKER_INS2'")

    # a second agent joins: the hook masks more, and the full update applies it
    in_replay(wait_for, console, "doc.body.textContent.includes('VISIBLE_MARKER_TWO')")
    second = agent()
    received_second = Tap(second, "framereceived")
    join(second, "mask-wire")
    wait_for(visitor, "window.hookCalls.some((c) => c.agents !== 'undefined' && c.agents.count === 2)")
    in_replay(wait_for, console, masked_box("box-two"))
    in_replay(wait_for, second, masked_box("box-two"))
    visitor.evaluate(
        "window.changeTwoAgents(); document.getElementById('plain').textContent = 'VISIBLE_MARKER_TWO2'"
    )
    in_replay(wait_for, console, "doc.getElementById('plain')?.textContent === 'VISIBLE_MARKER_TWO2'")

    # no masking error so far: every secret was masked by the rules, none had to be caught by the guard
    assert visitor.evaluate("window.maskingErrors") == []

    # navigation to a page the group's deny pattern masks: only a masked snapshot, the console says so
    before_navigation = len(sent.frames)
    visitor.evaluate("location.href = '/masking-denied.html'")
    wait_for(visitor, "document.getElementById('denied-text') && GLANCE.Cobrowse.Visitor.inSession()")
    wait_for(console, "!document.getElementById('cb-masked-page').hidden")
    assert console.locator("#cb-masked-page").inner_text().startswith("This page is masked")
    assert console.evaluate("window.CobrowseAgent.replayFrame()") is None
    assert visitor.evaluate("GLANCE.Cobrowse.Visitor.isPageMasked()") is True
    visitor.locator("#denied-input").press_sequentially("SECRET_DENIED_TYPED")
    visitor.evaluate("document.getElementById('denied-text').textContent = 'SECRET_DENIED_CHANGED'")
    wait_for(visitor, "window.GLANCE.Cobrowse.Visitor.isPageMasked() === true")
    wait_for(console, "window.CobrowseAgent.session.page.url.includes('masking-denied')")

    # the masked page's frames: one masked snapshot, a Meta with the viewport size only
    after = [json.loads(f) for f in sent.frames[before_navigation:] if f.startswith("{")]
    page_events = [m for m in after if m.get("t") == "events"]
    assert page_events, "the masked page sent no snapshot"
    for frame in page_events:
        assert frame["masked"] is True and frame["snapshot"] is True
        assert [e["type"] for e in frame["data"]] == [4]
        assert set(frame["data"][0]["data"]) == {"width", "height"}

    # nothing secret on the wire, either side; the visible content is there
    for tap, name in (
        (sent, "visitor sent"),
        (received, "agent 1 received"),
        (received_second, "agent 2 received"),
    ):
        assert tap.secrets() == [], f"{name}: {tap.secrets()}"
    wire = sent.text()
    for marker in (
        "VISIBLE_MARKER_PLAIN",
        "VISIBLE_MARKER_TYPED",
        "VISIBLE_MARKER_CHANGED",
        "VISIBLE_MARKER_SHADOW",
        "VISIBLE_MARKER_FRAME",
        "VISIBLE_MARKER_INSERTED",
        "VISIBLE_MARKER_TWO",
    ):
        assert marker in wire, marker
    assert "VISIBLE_MARKER_TWO2" in received.text()
    canvas_events = [
        e["data"]["payload"]["gcid"]
        for m in sent.events()
        for e in m["data"]
        if e.get("type") == 5 and e["data"].get("tag") == "cobrowse-canvas"
    ]
    assert gcids[1] in canvas_events and gcids[0] not in canvas_events


# --- what the agent sees -------------------------------------------------------------------------------

#: Classes of masked elements in masking-secrets.html and whether each is blocked (a box) or a masked input.
BOXES = [
    "box-text",
    "box-inline",
    "box-select",
    "box-canvas",
    "box-shadow",
    "box-iframe",
    "box-iframe-parent",
    "box-group",
    "box-hook",
]
INPUTS = ["box-input", "box-controlled", "box-textarea"]

_RECTS = """(classes) => {
  const frame = window.CobrowseAgent ? window.CobrowseAgent.replayFrame() : null;
  const doc = frame ? frame.contentDocument : document;
  const out = {};
  for (const cls of classes) {
    const el = doc.querySelector('.' + cls);
    if (!el) continue;
    const r = el.getBoundingClientRect();
    out[cls] = [r.left, r.top, r.width, r.height];
  }
  return out;
}"""


def test_the_agent_sees_each_masked_element_as_a_box_of_its_size(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, group_rules: Callable[..., None]
) -> None:
    group_rules("--selector", "#group-masked")
    start_session(visitor, f"{stack.site}/masking-secrets.html", "mask-boxes", wait_for)
    console = agent()
    join(console, "mask-boxes")
    for cls in BOXES:
        in_replay(wait_for, console, masked_box(cls))
    in_replay(
        wait_for, console, "doc.getElementById('m-input')?.value === arg", arg="*" * len("SECRET_INPUT_VALUE")
    )
    # the frames' content is in: the iframes have their final size
    in_replay(
        wait_for,
        console,
        "!!doc.getElementById('plain-iframe')?.contentDocument?.getElementById('frame-visible')",
    )

    original = visitor.evaluate(_RECTS, BOXES + INPUTS)
    shown = console.evaluate(_RECTS, BOXES + INPUTS)
    assert set(original) == set(BOXES + INPUTS)
    for cls in BOXES + INPUTS:
        assert cls in shown, f"{cls} is missing from the agent's view"
        for a, b, what in zip(original[cls], shown[cls], ("left", "top", "width", "height"), strict=True):
            assert abs(a - b) <= 1.5, f"{cls}: {what} {b} in the agent's view, {a} on the visitor's page"

    # the placeholders are drawn as the masked pattern, and hold nothing
    pattern = console.evaluate(
        "() => { const d = window.CobrowseAgent.replayFrame().contentDocument;"
        " return [...d.querySelectorAll('.rr-block')].map((el) => [d.defaultView.getComputedStyle(el).backgroundImage,"
        " el.textContent, [...el.attributes].map((a) => a.name)]); }"
    )
    assert len(pattern) >= len(BOXES)
    for background, text, attributes in pattern:
        assert "repeating-linear-gradient" in background
        assert text == ""
        # the style holds the size; the replayer itself turns autocomplete off on form controls
        assert set(attributes) <= {"class", "style", "autocomplete"}, attributes
    # masked inputs show asterisks of the value's length and nothing else of it
    inputs = console.evaluate(
        "() => { const d = window.CobrowseAgent.replayFrame().contentDocument;"
        " return ['m-input', 'm-textarea'].map((id) => { const el = d.getElementById(id);"
        " return [el.value, el.getAttribute('placeholder'), el.getAttribute('title')]; }); }"
    )
    assert inputs == [
        ["*" * len("SECRET_INPUT_VALUE"), None, None],
        ["*" * len("SECRET_TEXTAREA_DEFAULT"), None, None],
    ]

    # inside an open shadow root too (the page's stylesheet does not reach there: the box carries its look)
    shadow = """(doc) => { const el = doc.getElementById('shadow-host').shadowRoot.querySelector('.box-shadow-inner');
      const r = el.getBoundingClientRect();
      return [r.left, r.top, r.width, r.height, el.classList.contains('rr-block'), el.textContent,
              el.ownerDocument.defaultView.getComputedStyle(el).backgroundImage.startsWith('repeating-linear-gradient')]; }"""
    original_shadow = visitor.evaluate(f"({shadow})(document)")
    shown_shadow = console.evaluate(f"({shadow})(window.CobrowseAgent.replayFrame().contentDocument)")
    assert shown_shadow[4:] == [True, "", True]
    for a, b in zip(original_shadow[:4], shown_shadow[:4], strict=True):
        assert abs(a - b) <= 1.5, (original_shadow, shown_shadow)

    RESULTS_DIR.mkdir(exist_ok=True)
    console.screenshot(path=str(RESULTS_DIR / "masking-agent-view.png"))
    visitor.screenshot(path=str(RESULTS_DIR / "masking-visitor-page.png"))


# --- the hook: errors, timing, parameters ----------------------------------------------------------------

HOOK_ERRORS = {
    "reject": "masking service unavailable",
    "throw": "hook exploded",
    "not-object": "not a masking descriptor",
    "maskpage-string": "maskpage",
    "elements-string": "maskedelements",
    "elements-numbers": "maskedelements",
    "invalid-selector": "p[[nope",
    "never": "did not settle",
}


@pytest.mark.parametrize("mode", list(HOOK_ERRORS))
def test_a_failing_hook_masks_the_page_and_raises_maskingerror(
    stack: Any,
    visitor: Page,
    agent: Callable[..., Page],
    wait_for: Wait,
    group_rules: Callable[..., None],
    mode: str,
) -> None:
    sent = Tap(visitor, "framesent")
    key = f"mask-hook-{mode}"
    start_session(visitor, f"{stack.site}/masking-hook.html?mode={mode}", key, wait_for)
    console = agent()
    received = Tap(console, "framereceived")
    join(console, key)
    # the never-settling hook is given up after its timeout (5 s, docs/masking.md)
    errors = wait_for(visitor, "window.maskingErrors.length > 0 && window.maskingErrors", timeout=15_000)
    assert HOOK_ERRORS[mode] in errors[0]["reason"], errors
    assert any(
        e["code"] == "maskingerror" and HOOK_ERRORS[mode] in e["msg"]
        for e in visitor.evaluate("window.errorEvents")
    )
    assert visitor.evaluate("GLANCE.Cobrowse.Visitor.isPageMasked()") is True
    wait_for(console, "!document.getElementById('cb-masked-page').hidden")
    assert console.evaluate("window.CobrowseAgent.replayFrame()") is None
    # the session goes on (masked): the visitor's typing sends nothing
    visitor.locator("#field").press_sequentially("SECRET_TYPED_ON_MASKED")
    visitor.evaluate("document.getElementById('secret').textContent = 'SECRET_CHANGED_ON_MASKED'")
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession()")
    events = sent.events()
    assert events and all(m["masked"] is True and len(m["data"]) == 1 for m in events), events
    assert sent.secrets() == [] and received.secrets() == []
    assert "VISIBLE_MARKER_HOOK_PAGE" not in sent.text()


def test_nothing_is_uploaded_before_the_descriptor_is_known(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, group_rules: Callable[..., None]
) -> None:
    sent = Tap(visitor, "framesent")
    start_session(visitor, f"{stack.site}/masking-hook.html?mode=held", "mask-held", wait_for)
    wait_for(visitor, "window.hookCalls.length === 1 && typeof window.releaseHook === 'function'")
    console = agent()
    join(console, "mask-held")  # a round trip through the server: a snapshot would have been sent by now
    wait_for(visitor, "window.hookCalls.length === 2")  # called again for the agent
    assert visitor.evaluate("GLANCE.Cobrowse.Visitor.isPageMasked()") is True  # nothing is shown yet
    assert sent.events() == []
    assert console.evaluate("window.CobrowseAgent.replayFrame()") is None
    # the answer comes: the page is uploaded under it
    visitor.evaluate("window.releaseHook({ maskedelements: ['.hook-secret', '#secret', '#field'] })")
    in_replay(wait_for, console, "doc.body.textContent.includes('VISIBLE_MARKER_HOOK_PAGE')")
    assert visitor.evaluate("GLANCE.Cobrowse.Visitor.isPageMasked()") is False
    in_replay(
        wait_for,
        console,
        "doc.getElementById('field')?.value === arg",
        arg="*" * len("SECRET_HOOK_PAGE_VALUE"),
    )
    assert sent.secrets() == []
    visitor.evaluate("GLANCE.Cobrowse.Visitor.stopSession()")
    assert (
        visitor.evaluate("GLANCE.Cobrowse.Visitor.isPageMasked()") is False
    )  # no session: nothing is masked


def test_the_hook_gets_the_agents_at_start_on_each_change_and_on_each_page(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, group_rules: Callable[..., None]
) -> None:
    start_session(visitor, f"{stack.site}/masking-hook.html", "mask-params", wait_for)
    visitor.evaluate(
        "window.agentsEvents = []; GLANCE.Cobrowse.Visitor.addEventListener('agents', (a) => window.agentsEvents.push(a))"
    )
    wait_for(visitor, "window.hookCalls.length === 1")
    assert visitor.evaluate("window.hookCalls[0]") == {"agents": "undefined"}  # at session start
    console = agent()
    join(console, "mask-params")
    wait_for(visitor, "window.hookCalls.length === 2 && window.agentsEvents.length === 1")
    agents_event = visitor.evaluate("window.agentsEvents[0]")
    assert visitor.evaluate("window.hookCalls[1]") == {"agents": agents_event}  # the agents event's shape
    assert agents_event["count"] == 1 and agents_event["agentlist"][0]["username"] == "demo"
    # the next page: the hook is asked before anything is sent, with the agents of the session
    with visitor.expect_navigation():  # (the same URL: without this the old page could answer the wait)
        visitor.evaluate("document.getElementById('next').click()")
    wait_for(
        visitor, "window.hookCalls && window.hookCalls.length >= 1 && GLANCE.Cobrowse.Visitor.inSession()"
    )
    assert visitor.evaluate("window.hookCalls[0]") == {"agents": agents_event}
    in_replay(wait_for, console, "doc.body.textContent.includes('VISIBLE_MARKER_HOOK_PAGE')")
    # the agent leaves: asked again, with nobody
    console.evaluate("window.CobrowseAgent.leave()")
    wait_for(visitor, "window.hookCalls.some((c) => c.agents !== 'undefined' && c.agents.count === 0)")


def test_maskpage_true_masks_the_page_without_an_error(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, group_rules: Callable[..., None]
) -> None:
    # the group's allow list would show the page; the hook's maskpage overrides it
    group_rules("--allow", f"{stack.site}/masking-hook.html*")
    sent = Tap(visitor, "framesent")
    start_session(visitor, f"{stack.site}/masking-hook.html?mode=maskpage", "mask-maskpage", wait_for)
    console = agent()
    join(console, "mask-maskpage")
    wait_for(console, "!document.getElementById('cb-masked-page').hidden")
    assert visitor.evaluate("GLANCE.Cobrowse.Visitor.isPageMasked()") is True
    assert visitor.evaluate("window.maskingErrors") == []
    assert sent.secrets() == [] and "VISIBLE_MARKER_HOOK_PAGE" not in sent.text()
    # the panel is what the agent sees (nothing covers it)
    assert console.locator("#cb-masked-page").is_visible()
    assert console.locator("#cb-overlay").is_hidden()
    RESULTS_DIR.mkdir(exist_ok=True)
    console.screenshot(path=str(RESULTS_DIR / "masking-agent-masked-page.png"))


def test_group_url_rules_mask_pages_and_unmask_on_the_next_page(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, group_rules: Callable[..., None]
) -> None:
    # allow list: only the hook page is shown; the denied page is not on it
    group_rules("--allow", "*/masking-hook.html*")
    sent = Tap(visitor, "framesent")
    start_session(visitor, f"{stack.site}/masking-denied.html", "mask-allow", wait_for)
    console = agent()
    join(console, "mask-allow")
    wait_for(console, "!document.getElementById('cb-masked-page').hidden")
    assert visitor.evaluate("GLANCE.Cobrowse.Visitor.isPageMasked()") is True
    visitor.evaluate("location.href = '/masking-hook.html'")
    in_replay(wait_for, console, "doc.body.textContent.includes('VISIBLE_MARKER_HOOK_PAGE')")
    wait_for(console, "document.getElementById('cb-masked-page').hidden")
    assert visitor.evaluate("GLANCE.Cobrowse.Visitor.isPageMasked()") is False
    assert "SECRET_DENIED" not in sent.text()  # nor the masked page's title (SECRET_DENIED_TITLE)
    # the title of an unmasked page is shown to the agent once its snapshot went out
    wait_for(console, "document.getElementById('cb-page-title').textContent === 'Masking hook test page'")


# --- the spec's examples ---------------------------------------------------------------------------------


@pytest.fixture
def northeast_agent(stack: Any) -> tuple[str, str]:
    """An agent of role "Northeast Region" in group 1 (created once per stack)."""
    done = stack.cli(
        "agent",
        "create",
        "--username",
        "ne",
        "--group",
        "1",
        "--agentrole",
        "Northeast Region",
        "--name",
        "NE",
        "--password",
        "ne-password-1",
        check=False,
    )
    assert done.returncode == 0 or "exists" in (done.stderr + done.stdout).lower(), done.stderr
    return "ne", "ne-password-1"


def test_role_based_masking_example_shows_an_agent_only_their_regions_elements(
    stack: Any,
    visitor: Page,
    agent: Callable[..., Page],
    wait_for: Wait,
    group_rules: Callable[..., None],
    northeast_agent: tuple[str, str],
) -> None:
    sent = Tap(visitor, "framesent")
    start_session(visitor, f"{stack.site}/masking-spec-roles.html", "mask-roles", wait_for)
    console = agent(*northeast_agent)
    join(console, "mask-roles")
    in_replay(wait_for, console, "doc.getElementById('ne')?.textContent.includes('NORTHEAST_ONLY_TEXT')")
    in_replay(
        wait_for, console, "doc.querySelectorAll('.rr-block').length === 1 && !doc.getElementById('sw')"
    )
    in_replay(wait_for, console, "doc.getElementById('all')?.textContent.includes('VISIBLE_MARKER_ALL')")
    assert "SOUTHWEST" not in received_text(console)
    # before any agent was known (session start) every element with a role was masked
    first = sent.events()[0]
    assert first["snapshot"] is True and "VISIBLE_MARKER_ROLES" in json.dumps(first)
    assert "NORTHEAST_ONLY_TEXT" not in json.dumps(first)
    assert "NORTHEAST_ONLY_TEXT" in sent.text()
    assert sent.secrets() == []


def received_text(console: Page) -> str:
    """The replayed document's text and attributes as the agent has them."""
    return str(
        console.evaluate("window.CobrowseAgent.replayFrame().contentDocument.documentElement.outerHTML")
    )


def test_web_service_masking_example_masks_what_the_service_says(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, group_rules: Callable[..., None]
) -> None:
    asked: list[str] = []

    def service(route: Route) -> None:
        asked.append(route.request.url)
        route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps({"maskedelements": [".account-number", ".balance"]}),
        )

    visitor.context.add_cookies([{"name": "agenttoken", "value": "agent-42", "url": stack.site}])
    visitor.route("**/api/GetAgentMaskRules*", service)
    sent = Tap(visitor, "framesent")
    start_session(visitor, f"{stack.site}/masking-spec-webservice.html", "mask-webservice", wait_for)
    console = agent()
    join(console, "mask-webservice")
    in_replay(wait_for, console, "doc.body.textContent.includes('VISIBLE_MARKER_PUBLIC')")
    in_replay(
        wait_for, console, "doc.querySelectorAll('.account-number.rr-block, .balance.rr-block').length === 2"
    )
    assert asked and asked[0].endswith("/api/GetAgentMaskRules?id=agent-42")
    assert sent.secrets() == []
    assert visitor.evaluate("window.maskingErrors") == []


def test_web_service_masking_example_masks_the_page_when_the_service_fails(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, group_rules: Callable[..., None]
) -> None:
    visitor.route("**/api/GetAgentMaskRules*", lambda route: route.fulfill(status=503, body="down"))
    sent = Tap(visitor, "framesent")
    start_session(visitor, f"{stack.site}/masking-spec-webservice.html", "mask-webservice-down", wait_for)
    errors = wait_for(visitor, "window.maskingErrors.length > 0 && window.maskingErrors")
    assert "Error attempting to query masking info" in errors[0]["reason"]
    console = agent()
    join(console, "mask-webservice-down")
    wait_for(console, "!document.getElementById('cb-masked-page').hidden")
    assert sent.secrets() == [] and "VISIBLE_MARKER_PUBLIC" not in sent.text()


def test_a_same_document_navigation_to_a_denied_url_masks_the_page(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, group_rules: Callable[..., None]
) -> None:
    group_rules("--deny", "*private=1*")
    sent = Tap(visitor, "framesent")
    start_session(
        visitor, f"{stack.site}/basic.html", "mask-pushstate", wait_for
    )  # no hook: the URL lists decide
    console = agent()
    join(console, "mask-pushstate")
    in_replay(wait_for, console, "doc.getElementById('title')?.textContent === 'Basic test page'")
    # a single-page app moves to a denied URL and shows new content in the same task
    visitor.evaluate(
        "history.pushState({}, '', '/basic.html?private=1');"
        " document.getElementById('title').textContent = 'SECRET_AFTER_PUSHSTATE';"
    )
    wait_for(console, "!document.getElementById('cb-masked-page').hidden")
    assert visitor.evaluate("GLANCE.Cobrowse.Visitor.isPageMasked()") is True
    visitor.evaluate("document.getElementById('title').textContent = 'SECRET_LATER_ON_PRIVATE'")
    wait_for(console, "window.CobrowseAgent.session.page.url.endsWith('private=1')")
    assert sent.secrets() == []


def test_an_element_masked_by_a_change_elsewhere_gets_a_full_update(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, group_rules: Callable[..., None]
) -> None:
    """The watcher re-checks only what changed when the rules allow it (masking/watch.ts): a class added to an
    ancestor (a descendant selector) or to the previous sibling (a sibling selector, which makes it look
    everywhere) still masks the element it now matches, and what it says afterwards never leaves."""
    group_rules("--selector", ".vault .acct", "--selector", ".flag + .acct2")
    sent = Tap(visitor, "framesent")
    visitor.goto(f"{stack.site}/basic.html")
    visitor.evaluate(
        "() => { const c = document.getElementById('container');"
        ' c.innerHTML = \'<div id="zone"><p><span class="acct">VISIBLE_ACCT_BEFORE</span></p></div>\''
        ' + \'<p id="sib">sibling</p><p class="acct2">VISIBLE_ACCT2_BEFORE</p>\'; }'
    )
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate("(key) => GLANCE.Cobrowse.Visitor.startSession(key)", "mask-elsewhere")
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true")
    console = agent()
    join(console, "mask-elsewhere")
    in_replay(wait_for, console, "doc.body.textContent.includes('VISIBLE_ACCT2_BEFORE')")

    epoch = console.evaluate("window.CobrowseAgent.epoch")
    visitor.evaluate("document.getElementById('zone').className = 'vault'")
    in_replay(wait_for, console, masked_box("acct"))
    assert console.evaluate("window.CobrowseAgent.epoch") > epoch

    epoch = console.evaluate("window.CobrowseAgent.epoch")
    visitor.evaluate("document.getElementById('sib').className = 'flag'")
    in_replay(wait_for, console, masked_box("acct2"))
    assert console.evaluate("window.CobrowseAgent.epoch") > epoch

    visitor.evaluate(
        "document.querySelector('.acct').textContent = 'SECRET_ACCT_AFTER';"
        " document.querySelector('.acct2').textContent = 'SECRET_ACCT2_AFTER';"
        " document.getElementById('title').textContent = 'VISIBLE_MARKER_ELSEWHERE'"
    )
    in_replay(wait_for, console, "doc.getElementById('title')?.textContent === 'VISIBLE_MARKER_ELSEWHERE'")
    assert "VISIBLE_MARKER_ELSEWHERE" in sent.text()
    assert sent.secrets() == []
