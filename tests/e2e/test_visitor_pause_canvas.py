"""Pausing a session and sharing canvases, in real Chromium, checked on the wire and in the agent's view.

- ``pauseSession({pause, message})`` / ``isSessionPaused()``: while paused nothing of the page leaves it (no
  ``events`` frame, whatever the page does), the agent's view is frozen and covered by the message, sanitised
  (a ``<script>`` and an ``onerror`` in it do nothing, an ``<img>`` in it loads nothing); unpausing sends a full
  update; a second agent who joins during the pause sees it too; a pause lasts for the current page only.
- ``data-startpaused="1"`` (``pages/startpaused.html``): no ``events`` frame at all before the unpause.
- Canvas: every canvas carries a unique ``data-gcid`` (new ones too); a canvas drawn after the start shows in the
  agent's view after ``notifyChanged`` (pixels read from the replayed canvas); a cross-origin-tainted canvas
  shows a placeholder, not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from support.visitor_pages import RECORDER, VisitorSockets, api, events, in_replay, join, start, throws, watch

Wait = Callable[..., Any]
Agent = Callable[..., Page]

HOSTILE_MESSAGE = (
    "<h2>Paused <i>for now</i></h2>"
    '<p onclick="window.__pwned=\'click\'" style="position:fixed;inset:0">Back <b>soon</b>.</p>'
    "<script>window.__pwned = 'script';</script>"
    '<img src="{track}" onerror="window.__pwned = \'onerror\'">'
    "<a href=\"javascript:window.__pwned='link'\">link text</a>"
    "<style>body {{ display: none }}</style>"
)


@pytest.fixture
def page(visitor: Page) -> Page:
    visitor.context.add_init_script(RECORDER)
    return visitor


def page_events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["t"] == "events"]


def between_pause_and_unpause(messages: list[dict[str, Any]]) -> list[str]:
    """The types of the frames sent between the first ``pause: true`` and the next ``pause: false``."""
    start_at = next(i for i, m in enumerate(messages) if m["t"] == "pause" and m["pause"])
    end_at = next(i for i, m in enumerate(messages) if i > start_at and m["t"] == "pause" and not m["pause"])
    return [m["t"] for m in messages[start_at + 1 : end_at]]


def cover_html(console: Page) -> Any:
    """The pause cover's message as shown in the console, or None while it is hidden."""
    return console.evaluate(
        "(() => { const c = document.getElementById('cb-pause-cover');"
        " return c && !c.hidden ? document.getElementById('cb-pause-message').innerHTML : null; })()"
    )


# --- pause ---------------------------------------------------------------------------------------------------


def test_pause_sends_nothing_and_covers_the_view_with_the_sanitised_message(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/api-page.html")
    start(page, wait_for, "pause-basic")
    console = agent()
    requests: list[str] = []
    console.on("request", lambda r: requests.append(r.url))
    watch(console, "pause-basic", wait_for)
    page.evaluate("addNode('before the pause')")
    in_replay(wait_for, console, "doc.querySelector('.added')?.textContent === 'before the pause'")
    assert api(page, "V.isSessionPaused()") is False

    track = f"{stack.site}/track-pixel.png"
    message = HOSTILE_MESSAGE.format(track=track)
    mark = sockets.mark()
    api(page, "V.pauseSession({ pause: true, message: arg })", message)
    assert api(page, "V.isSessionPaused()") is True
    # The page changes a lot while paused: typing, nodes, scrolling.
    page.evaluate("addNode('SECRET-DURING-PAUSE')")
    page.fill("#field", "typed while paused")
    page.mouse.wheel(0, 300)
    page.mouse.move(200, 200)
    page.mouse.move(300, 250)
    wait_for(
        console,
        "document.getElementById('cb-pause-cover') && !document.getElementById('cb-pause-cover').hidden",
    )

    shown = cover_html(console)
    assert shown == "<h2>Paused <i>for now</i></h2><p>Back <b>soon</b>.</p><a>link text</a>"
    # Nothing of the message ran or loaded in the console.
    console.click("#cb-pause-message p", force=True)
    console.click("#cb-pause-message a", force=True)
    assert console.evaluate("window.__pwned") is None
    assert (
        console.evaluate("document.querySelectorAll('#cb-pause-cover img, #cb-pause-cover script').length")
        == 0
    )
    assert track not in requests
    assert console.evaluate("getComputedStyle(document.body).display") != "none"
    # The view is frozen: what the visitor did during the pause is not in it.
    assert in_replay(wait_for, console, "doc.querySelectorAll('.added').length") == 1

    # Unpause: a full update (a new epoch, snapshot first) with the current page; the cover goes.
    before_epoch = console.evaluate("CobrowseAgent.epoch")
    api(page, "V.pauseSession({ pause: false })")
    assert api(page, "V.isSessionPaused()") is False
    sent = sockets.wait_sent(
        page, lambda ms: any(m["t"] == "pause" and not m["pause"] for m in ms) and bool(page_events(ms)), mark
    )
    # On the wire: the pause went out, and not one page-event frame until the unpause.
    assert next(m for m in sent if m["t"] == "pause") == {
        "v": 1,
        "t": "pause",
        "pause": True,
        "message": message,
    }
    assert "events" not in between_pause_and_unpause(sent), between_pause_and_unpause(sent)
    first = page_events(sent)[0]
    assert first["snapshot"] is True and first["epoch"] > before_epoch
    in_replay(
        wait_for,
        console,
        "[...doc.querySelectorAll('.added')].some((p) => p.textContent === 'SECRET-DURING-PAUSE')",
    )
    assert in_replay(wait_for, console, "doc.getElementById('field').value") == "typed while paused"
    wait_for(console, "document.getElementById('cb-pause-cover').hidden")
    assert console.evaluate("CobrowseAgent.session.pause") == {"pause": False, "message": None}
    api(page, "V.stopSession()")


def test_agent_joining_during_a_pause_sees_the_same_paused_state(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    page.goto(f"{stack.site}/api-page.html")
    start(page, wait_for, "pause-late-join")
    first = agent()
    watch(first, "pause-late-join", wait_for)
    api(page, "V.pauseSession({ pause: true, message: '<p>Please wait</p>' })")
    wait_for(first, "CobrowseAgent.session.pause.pause === true")
    second = agent()
    info = join(second, "pause-late-join")
    assert info["pause"] == {"pause": True, "message": "<p>Please wait</p>"}
    wait_for(second, "!document.getElementById('cb-pause-cover').hidden")
    assert cover_html(second) == cover_html(first) == "<p>Please wait</p>"
    # A pause without a message shows a default text.
    api(page, "V.pauseSession({ pause: true })")
    wait_for(
        second,
        "document.getElementById('cb-pause-message').textContent === 'The visitor has paused the session.'",
    )
    api(page, "V.stopSession()")


def test_a_pause_lasts_for_the_current_page_only(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/api-page.html")
    start(page, wait_for, "pause-one-page")
    console = agent()
    watch(console, "pause-one-page", wait_for)
    api(page, "V.pauseSession({ pause: true, message: 'paused here' })")
    wait_for(console, "CobrowseAgent.session.pause.pause === true")
    epoch = console.evaluate("CobrowseAgent.epoch")
    mark = sockets.mark()
    with page.expect_navigation():
        page.click("#to-next")
    wait_for(page, "GLANCE.Cobrowse.Visitor.readyState === 'statereceived'")
    assert api(page, "V.isSessionPaused()") is False
    # The new page is uploaded and shown, uncovered.
    sockets.wait_sent(page, lambda ms: bool(page_events(ms)), mark)
    wait_for(
        console,
        "(e) => CobrowseAgent.epoch > e && CobrowseAgent.session.page.url.endsWith('?page=2')",
        arg=epoch,
    )
    wait_for(
        console,
        "CobrowseAgent.session.pause.pause === false && document.getElementById('cb-pause-cover').hidden",
    )
    api(page, "V.stopSession()")


def test_pause_before_a_session_applies_to_a_session_started_on_the_page(
    stack: Any, page: Page, wait_for: Wait
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/api-page.html")
    api(page, "V.pauseSession({ pause: true, message: 'not yet' })")
    start(page, wait_for, "pause-before-start")
    sent = sockets.wait_sent(page, lambda ms: any(m["t"] == "pause" for m in ms))
    assert page_events(sent) == []
    assert [m["t"] for m in sent][:2] == ["start", "pause"]
    api(page, "V.stopSession()")


def test_bad_pause_params_throw_and_change_nothing(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/api-page.html")
    start(page, wait_for, "pause-bad")
    for statement, words in [
        ("V.pauseSession()", "takes an object"),
        ("V.pauseSession(true)", "takes an object"),
        ("V.pauseSession({ message: 'x' })", '"pause" must be true or false'),
        ("V.pauseSession({ pause: 'yes' })", '"pause" must be true or false'),
        ("V.pauseSession({ pause: true, message: 42 })", '"message" must be a string'),
        ("V.pauseSession({ pause: true, message: 'x'.repeat(16 * 1024 + 1) })", "at most 16384"),
        ("V.pauseSession({ pause: true, color: 'red' })", 'unknown pauseSession option "color"'),
    ]:
        error = throws(page, statement)
        assert error is not None and error["code"] == "invalidparams" and words in error["message"], (
            statement,
            error,
        )
    assert api(page, "[V.isSessionPaused(), V.inSession(), V.readyState]") == [False, True, "statereceived"]
    api(page, "V.stopSession()")


def test_startpaused_uploads_nothing_before_the_unpause(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/startpaused.html")
    assert api(page, "V.isSessionPaused()") is True
    start(page, wait_for, "start-paused")
    console = agent()
    info = join(console, "start-paused")
    assert info["pause"]["pause"] is True
    wait_for(console, "!document.getElementById('cb-pause-cover').hidden")
    page.fill("#field", "typed before the unpause")
    page.evaluate("document.getElementById('private-text').textContent += ' changed'")
    assert console.evaluate("CobrowseAgent.replayFrame()") is None

    api(page, "V.pauseSession({ pause: false })")
    sent = sockets.wait_sent(page, lambda ms: bool(page_events(ms)))
    # Nothing of the page before the unpause: start, pause (true), pause (false), then the first snapshot.
    assert [m["t"] for m in sent if m["t"] != "page"][:4] == ["start", "pause", "pause", "events"]
    assert [m["pause"] for m in sent if m["t"] == "pause"][:2] == [True, False]
    assert page_events(sent)[0]["snapshot"] is True
    in_replay(wait_for, console, "doc.getElementById('private-text')?.textContent.includes('changed')")
    wait_for(console, "document.getElementById('cb-pause-cover').hidden")
    api(page, "V.stopSession()")


def test_startpaused_masked_page_sends_not_even_its_masked_frame_before_the_unpause(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    """A page that is both masked (the group's deny list) and start-paused: the masked page's frame (which holds
    nothing of the page) waits for the unpause too, so the agent sees the pause cover, then the masked panel."""
    stack.cli("group", "masking", "--id", "1", "--deny", "*/startpaused.html*")
    try:
        sockets = VisitorSockets(page)
        page.goto(f"{stack.site}/startpaused.html")
        start(page, wait_for, "start-paused-masked")
        console = agent()
        join(console, "start-paused-masked")
        wait_for(console, "!document.getElementById('cb-pause-cover').hidden")
        api(page, "V.pauseSession({ pause: false })")
        sent = sockets.wait_sent(page, lambda ms: bool(page_events(ms)))
        assert [m["t"] for m in sent if m["t"] != "page"][:4] == ["start", "pause", "pause", "events"]
        first = page_events(sent)[0]
        assert first["snapshot"] is True and first.get("masked") is True
        assert "STARTPAUSED-PRIVATE-TEXT" not in "".join(sockets.sent)
        wait_for(console, "document.getElementById('cb-pause-cover').hidden")
        api(page, "V.stopSession()")
    finally:
        stack.cli("group", "masking", "--id", "1", "--clear")


def test_navigating_into_a_startpaused_page_pauses_it(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/api-page.html")
    start(page, wait_for, "into-start-paused")
    console = agent()
    watch(console, "into-start-paused", wait_for)
    page.evaluate(
        "(() => { const a = document.createElement('a'); a.id = 'to-paused'; a.href = '/startpaused.html';"
        " a.textContent = 'paused page'; document.body.appendChild(a); })()"
    )
    mark = sockets.mark()
    with page.expect_navigation():
        page.click("#to-paused")
    wait_for(page, "GLANCE.Cobrowse.Visitor.readyState === 'statereceived'")
    assert api(page, "V.isSessionPaused()") is True
    wait_for(console, "CobrowseAgent.session.pause.pause === true")
    sockets.wait_sent(page, lambda ms: any(m["t"] == "pause" for m in ms), mark)
    # The new page's connection (from its resume on): the pause first, and nothing of the page.
    sent = sockets.since(mark)
    new_page = sent[next(i for i, m in enumerate(sent) if m["t"] == "resume") :]
    assert [m["t"] for m in new_page if m["t"] != "page"][:2] == ["resume", "pause"]
    assert page_events(new_page) == []
    # The agent still sees the previous page, frozen, under the cover.
    assert in_replay(wait_for, console, "doc.getElementById('title')?.textContent") == "Visitor API page"
    api(page, "V.stopSession()")


# --- canvas -------------------------------------------------------------------------------------------------


def pixel(console: Page, canvas_id: str, x: int = 5, y: int = 5) -> Any:
    """The RGBA of a pixel of the replayed canvas with the visitor canvas's id (read from the console page)."""
    return console.evaluate(
        "([id, x, y]) => { const doc = CobrowseAgent.replayFrame()?.contentDocument;"
        " const c = doc && doc.getElementById(id); if (!c) return null;"
        " return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data); }",
        [canvas_id, x, y],
    )


def wait_pixel(
    wait_for: Wait, console: Page, canvas_id: str, rgba: list[int], x: int = 5, y: int = 5
) -> None:
    """Wait until the replayed canvas's pixel (x, y) has this colour."""
    wait_for(
        console,
        "([id, x, y, rgba]) => { const doc = CobrowseAgent.replayFrame()?.contentDocument;"
        " const c = doc && doc.getElementById(id); if (!c) return false;"
        " return JSON.stringify(Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data)) === JSON.stringify(rgba); }",
        arg=[canvas_id, x, y, rgba],
    )


def test_every_canvas_has_a_unique_gcid(stack: Any, page: Page, wait_for: Wait) -> None:
    page.goto(f"{stack.site}/api-page.html")
    ids = page.evaluate("[...document.querySelectorAll('canvas')].map((c) => c.getAttribute('data-gcid'))")
    assert len(ids) == 3 and all(ids) and len(set(ids)) == 3
    # A canvas added later gets one, and a copy of a canvas gets its own.
    page.evaluate(
        "(() => { const c = document.createElement('canvas'); c.id = 'late'; document.body.appendChild(c);"
        " const copy = document.getElementById('c1').cloneNode(); copy.id = 'copy'; document.body.appendChild(copy); })()"
    )
    wait_for(page, "document.getElementById('late').getAttribute('data-gcid')")
    wait_for(
        page,
        "document.getElementById('copy').getAttribute('data-gcid') !== document.getElementById('c1').getAttribute('data-gcid')",
    )
    all_ids = page.evaluate(
        "[...document.querySelectorAll('canvas')].map((c) => c.getAttribute('data-gcid'))"
    )
    assert len(all_ids) == 5 and len(set(all_ids)) == 5 and all(all_ids)


def test_canvas_drawn_after_start_appears_after_notify_changed(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/api-page.html")
    # Outside a session notifyChanged does nothing (the spec's example guards only on GLANCE existing).
    page.evaluate("notifyCanvases()")
    start(page, wait_for, "canvas-notify")
    console = agent()
    watch(console, "canvas-notify", wait_for)
    in_replay(wait_for, console, "doc.getElementById('c1')?.getAttribute('data-gcid')")
    assert pixel(console, "c1") == [0, 0, 0, 0]  # blank: drawing alone does not reach the agent

    page.evaluate("draw('c1', 'rgb(255, 0, 0)'); draw('c2', 'rgb(0, 0, 255)')")
    page.evaluate("notifyCanvases()")
    wait_pixel(wait_for, console, "c1", [255, 0, 0, 255])
    wait_pixel(wait_for, console, "c2", [0, 0, 255, 255], 30, 20)
    # Visible, not only in the bitmap: a script-less frame renders <canvas> as fallback content, so the
    # console shows the picture as the element's background at the canvas's size.
    size = page.evaluate(
        "(() => { const r = document.getElementById('c1').getBoundingClientRect();"
        " return [Math.round(r.width), Math.round(r.height)]; })()"
    )
    shown = console.evaluate(
        "() => { const doc = CobrowseAgent.replayFrame().contentDocument; const c = doc.getElementById('c1');"
        " const r = c.getBoundingClientRect();"
        " return [Math.round(r.width), Math.round(r.height), getComputedStyle(c).backgroundImage]; }"
    )
    assert shown[:2] == size and shown[2].startswith('url("data:image/png'), shown
    # The pixels went as an rrweb custom event (type 5) in an events frame.
    custom = [e for m in sockets.messages() if m["t"] == "events" for e in m["data"] if e["type"] == 5]
    assert {e["data"]["tag"] for e in custom} == {"cobrowse-canvas"}
    assert {e["data"]["payload"]["gcid"] for e in custom} == set(
        page.evaluate("['c1', 'c2'].map((id) => document.getElementById(id).getAttribute('data-gcid'))")
    )
    # Drawn again: the newest picture wins.
    page.evaluate("draw('c1', 'rgb(0, 128, 0)'); notifyCanvases()")
    wait_pixel(wait_for, console, "c1", [0, 128, 0, 255])
    # A late joiner (and any new epoch) gets the canvases again.
    late = agent()
    watch(late, "canvas-notify", wait_for)
    wait_pixel(wait_for, late, "c2", [0, 0, 255, 255], 30, 20)
    wait_pixel(wait_for, late, "c1", [0, 128, 0, 255])
    # Bad arguments throw.
    for arg in ["'c1'", "{ canvas: { gcids: 'c1' } }", "{ canvas: { gcids: [42] } }"]:
        error = throws(page, f"V.notifyChanged({arg})")
        assert (
            error is not None and error["code"] == "invalidparams" and "notifyChanged" in error["message"]
        ), error
    api(page, "V.stopSession()")


def test_tainted_canvas_shows_a_placeholder_not_an_error(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    page.goto(f"{stack.site}/api-page.html")
    start(page, wait_for, "canvas-tainted")
    console = agent()
    watch(console, "canvas-tainted", wait_for)
    page.evaluate("(src) => taint(src)", f"{stack.site_b}/assets/logo.svg")
    assert throws(page, "document.getElementById('tainted').toDataURL()")["message"]  # tainted indeed
    gcid = page.evaluate("document.getElementById('tainted').getAttribute('data-gcid')")
    api(page, "V.notifyChanged({ canvas: { gcids: [arg] } })", gcid)
    wait_for(
        console,
        "() => { const c = CobrowseAgent.replayFrame().contentDocument.getElementById('tainted');"
        " return c.getContext('2d').getImageData(1, 1, 1, 1).data[3] === 255; }",
    )
    # The neutral placeholder's background, not the visitor's pixels.
    assert pixel(console, "tainted", 25, 2)[:3] in ([230, 233, 238], [207, 213, 221])
    assert [e for e in events(page) if e["name"] == "error"] == []
    api(page, "V.stopSession()")


def test_canvas_is_not_sent_while_paused_and_is_drawn_after_the_unpause(
    stack: Any, page: Page, agent: Agent, wait_for: Wait
) -> None:
    sockets = VisitorSockets(page)
    page.goto(f"{stack.site}/api-page.html")
    start(page, wait_for, "canvas-pause")
    console = agent()
    watch(console, "canvas-pause", wait_for)
    mark = sockets.mark()
    api(page, "V.pauseSession({ pause: true })")
    page.evaluate("draw('c1', 'rgb(255, 0, 255)'); notifyCanvases()")
    api(page, "V.pauseSession({ pause: false })")
    wait_pixel(wait_for, console, "c1", [255, 0, 255, 255])
    sent = sockets.since(mark)
    assert "events" not in between_pause_and_unpause(sent)
    api(page, "V.stopSession()")
