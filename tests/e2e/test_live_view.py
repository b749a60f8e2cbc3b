"""The agent's live view, end to end: a visitor's page in one browser context, the agent console in another.

What the agent must see: typing, nodes added by script, scrolling and the pointer, at once; a late joiner gets the
current page from the server; a visitor's clock far off the agent's, or a console without animation frames (a
background tab) does not hold the view back; nothing of a hostile visitor page runs in the console; the agent's
End ends the session on both sides.

The console is driven through its JavaScript API (docs/agent-api.md); the replayed page is read from
``CobrowseAgent.replayFrame()``. Keys are distinct per test: the module shares one demo stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, Route, WebSocketRoute

Wait = Callable[..., Any]

#: A function body's prelude that finds the replayed document, for the expressions passed to ``in_replay``.
_REPLAY = (
    "const frame = window.CobrowseAgent && window.CobrowseAgent.replayFrame();"
    " const doc = frame && frame.contentDocument;"
    " const win = frame && frame.contentWindow;"
    " if (!doc || !doc.body) return false;"
)


def in_replay(wait_for: Wait, page: Page, expression: str, arg: Any = None) -> Any:
    """Wait until ``expression`` is truthy in the agent's replay; it can use ``doc``, ``win``, ``frame``, ``arg``."""
    return wait_for(page, f"(arg) => {{ {_REPLAY} return ({expression}); }}", arg=arg)


def start_session(visitor: Page, url: str, key: str, wait_for: Wait) -> None:
    """Open ``url`` in the visitor's page and start a session with ``key``."""
    visitor.goto(url)
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate("(key) => GLANCE.Cobrowse.Visitor.startSession(key)", key)
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true")


def join(agent_page: Page, key: str) -> dict[str, Any]:
    """Join through the agent API; returns the JoinedInfo once the server accepted the join."""
    info: dict[str, Any] = agent_page.evaluate("(key) => window.CobrowseAgent.join(key)", key)
    assert info["key"] == key
    return info


def pointer_at(wait_for: Wait, page: Page, x: int, y: int) -> None:
    """Wait until the replay's cursor (rrweb's, in the visitor's page coordinates) is at (x, y)."""
    wait_for(
        page,
        "([x, y]) => { const m = document.querySelector('.replayer-mouse');"
        " return !!m && m.style.left === x + 'px' && m.style.top === y + 'px'; }",
        arg=[x, y],
    )


def test_typing_a_new_node_scrolling_and_the_pointer_appear_in_the_agents_view(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "live-basic", wait_for)
    console = agent()
    info = join(console, "live-basic")
    assert info["page"]["url"] == f"{stack.site}/basic.html"
    assert info["visitorConnected"] is True
    in_replay(wait_for, console, "doc.getElementById('title')?.textContent === 'Basic test page'")
    # the console shows the visitor's page as text
    wait_for(
        console,
        "(url) => document.getElementById('cb-page-url').textContent === url",
        arg=info["page"]["url"],
    )
    assert console.locator("#cb-page-title").text_content() == "Basic test page"

    visitor.locator("#name").press_sequentially("Hello agent")
    in_replay(wait_for, console, "doc.getElementById('name').value === 'Hello agent'")

    visitor.locator("#add").click()
    in_replay(wait_for, console, "doc.getElementById('added')?.textContent === 'Added by script 1'")

    visitor.evaluate("window.scrollTo(0, 1500)")
    in_replay(wait_for, console, "win.scrollY === 1500")

    visitor.mouse.move(420, 260)
    pointer_at(wait_for, console, 420, 260)


def test_the_view_follows_the_visitors_viewport_and_fits_the_viewer(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "live-viewport", wait_for)
    console = agent()
    join(console, "live-viewport")
    in_replay(wait_for, console, "!!doc.getElementById('title')")
    # The visitor's 1280x800 viewport is larger than the viewer: scaled down, whole, inside the viewer.
    in_replay(
        wait_for, console, "frame.getAttribute('width') === '1280' && frame.getAttribute('height') === '800'"
    )
    fits = (
        "(scale) => { const stage = document.getElementById('cb-stage').getBoundingClientRect();"
        " const view = window.CobrowseAgent.replayFrame().getBoundingClientRect();"
        " const host = document.querySelector('.cb-replay-host');"
        " return (scale === null ? Number(host.dataset.scale) < 1 : host.dataset.scale === scale)"
        " && view.left >= stage.left - 0.5 && view.right <= stage.right + 0.5"
        " && view.top >= stage.top - 0.5 && view.bottom <= stage.bottom + 0.5; }"
    )
    wait_for(console, fits, arg=None)

    visitor.set_viewport_size({"width": 600, "height": 400})
    in_replay(
        wait_for, console, "frame.getAttribute('width') === '600' && frame.getAttribute('height') === '400'"
    )
    wait_for(console, fits, arg="1.0000")  # small enough to show at its own size, never scaled up


def test_a_second_agent_joining_later_sees_the_current_page_without_asking_the_visitor(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "live-late", wait_for)
    first = agent()
    join(first, "live-late")
    visitor.locator("#name").fill("typed before the second agent came")
    visitor.evaluate("window.addNode('added before the second agent came')")
    in_replay(
        wait_for, first, "doc.getElementById('added')?.textContent === 'added before the second agent came'"
    )
    in_replay(wait_for, first, "doc.getElementById('name').value === 'typed before the second agent came'")

    # Freeze the visitor's page: it cannot answer anything now, so what the second agent sees comes from the
    # server's copy of the session.
    cdp = visitor.context.new_cdp_session(visitor)
    cdp.send("Debugger.enable")
    cdp.send("Debugger.pause")
    try:
        second = agent()
        info = join(second, "live-late")
        assert info["agents"]["count"] == 2
        in_replay(
            wait_for,
            second,
            "doc.getElementById('added')?.textContent === 'added before the second agent came'",
        )
        in_replay(
            wait_for, second, "doc.getElementById('name').value === 'typed before the second agent came'"
        )
        wait_for(first, "window.CobrowseAgent.session.agents.count === 2")
    finally:
        cdp.send("Debugger.resume")
        cdp.detach()

    # both keep watching
    visitor.locator("#name").fill("seen by both")
    in_replay(wait_for, first, "doc.getElementById('name').value === 'seen by both'")
    in_replay(wait_for, second, "doc.getElementById('name').value === 'seen by both'")


def test_the_agent_follows_the_visitor_to_the_next_page(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "live-nav", wait_for)
    console = agent()
    join(console, "live-nav")
    in_replay(wait_for, console, "!!doc.getElementById('to-second')")
    first_epoch = wait_for(console, "window.CobrowseAgent.epoch")

    visitor.locator("#to-second").click()
    in_replay(wait_for, console, "!!doc.getElementById('second-marker')")
    assert console.evaluate("window.CobrowseAgent.epoch") > first_epoch
    wait_for(
        console,
        "(url) => { const s = window.CobrowseAgent.session;"
        " return s.page.url === url && s.page.title === 'Second test page' && s.visitorConnected; }",
        arg=f"{stack.site}/second.html",
    )
    visitor.locator("#second-input").fill("on the second page")
    in_replay(wait_for, console, "doc.getElementById('second-input').value === 'on the second page'")


def test_nothing_of_a_hostile_visitor_page_runs_in_the_console(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    # The page adds a <meta http-equiv=refresh> to http://127.0.0.1:1/pwned after load, and Chromium acts on it:
    # the visitor's side answers that URL with 204 (no navigation) so the visitor stays on the page. On the
    # console's side every request to it is recorded: a replay that honoured the refresh would make one.
    visitor.route("http://127.0.0.1:1/**", lambda route: route.fulfill(status=204))
    console = agent()
    requests_to_pwned: list[str] = []

    def record(route: Route) -> None:
        requests_to_pwned.append(route.request.url)
        route.fulfill(status=204)

    console.route("http://127.0.0.1:1/**", record)
    navigations: list[str] = []
    console.on("framenavigated", lambda frame: navigations.append(frame.url))
    console_url = console.url

    start_session(visitor, f"{stack.site}/hostile.html", "live-hostile", wait_for)
    wait_for(visitor, "document.getElementById('ready').textContent === 'hostile page ready'")
    assert visitor.evaluate("window.__pwned") >= 1  # the vectors are live on the visitor's own page

    join(console, "live-hostile")
    in_replay(wait_for, console, "doc.getElementById('ready')?.textContent === 'hostile page ready'")
    in_replay(wait_for, console, "!!doc.getElementById('bad-refresh') && !!doc.getElementById('bad-img')")
    assert (
        console.evaluate("window.CobrowseAgent.replayFrame().getAttribute('sandbox')") == "allow-same-origin"
    )
    navigations.clear()  # from here on, no frame of the console may navigate

    # Activate every vector from the console side: the javascript: link, the handlers, the form.
    console.evaluate(
        """() => {
            const doc = window.CobrowseAgent.replayFrame().contentDocument;
            doc.getElementById('jslink').click();
            doc.getElementById('bad-div').click();
            doc.getElementById('bad-div').dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
            doc.getElementById('bad-details').open = false;
            doc.getElementById('bad-submit').click();
        }"""
    )
    # ...and from the visitor's side (replayed as pointer moves, clicks and hovers).
    visitor.locator("#bad-div").hover()
    visitor.locator("#bad-div").click()
    visitor.locator("#jslink").click()
    # A last change on the visitor's page: once the replay shows it, everything before it was replayed.
    visitor.evaluate("document.getElementById('ready').textContent = 'all vectors tried'")
    in_replay(wait_for, console, "doc.getElementById('ready').textContent === 'all vectors tried'")
    console.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")  # let queued tasks run

    assert console.evaluate("window.__pwned") is None
    assert console.evaluate("window.CobrowseAgent.replayFrame().contentWindow.__pwned") is None
    in_replay(
        wait_for, console, "doc.getElementById('title')?.textContent === 'Hostile test page'"
    )  # same document
    assert console.url == console_url
    assert navigations == []
    assert requests_to_pwned == []
    assert console.evaluate("window.CobrowseAgent.state") == "joined"


def test_the_agents_end_ends_the_session_for_both_sides(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "live-end", wait_for)
    visitor.evaluate(
        "window.__ends = []; GLANCE.Cobrowse.Visitor.addEventListener('sessionend', (e) => window.__ends.push(e))"
    )
    console = agent()
    console.evaluate("window.__ended = []; window.CobrowseAgent.on('ended', (e) => window.__ended.push(e))")
    join(console, "live-end")
    in_replay(wait_for, console, "!!doc.getElementById('title')")

    console.locator("#cb-end").click()  # the console's End session button

    ends = wait_for(visitor, "window.__ends.length > 0 && window.__ends")
    assert [e["reason"] for e in ends] == ["agent"]
    assert visitor.evaluate("GLANCE.Cobrowse.Visitor.inSession()") is False
    assert wait_for(console, "window.__ended.length > 0 && window.__ended") == [{"reason": "agent"}]
    assert console.evaluate("window.CobrowseAgent.state") == "ended"
    wait_for(console, "!document.getElementById('cb-overlay-message').hidden")
    assert "ended" in (console.locator("#cb-overlay-message").text_content() or "")


@pytest.mark.parametrize(
    "skew_ms", [3_600_000, -3_600_000], ids=["visitor-clock-1h-ahead", "visitor-clock-1h-behind"]
)
def test_a_visitor_clock_far_off_the_agents_does_not_hold_the_view_back(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, skew_ms: int
) -> None:
    # Shift the visitor's clock before any script of the page (and so the recorder) runs.
    visitor.context.add_init_script(
        f"(() => {{ const real = Date.now; Date.now = () => real() + {skew_ms}; }})()"
    )
    key = f"live-skew-{'ahead' if skew_ms > 0 else 'behind'}"
    start_session(visitor, f"{stack.site}/basic.html", key, wait_for)
    assert abs(visitor.evaluate("Date.now() - new Date().getTime()") - skew_ms) < 60_000
    console = agent()
    join(console, key)
    in_replay(wait_for, console, "!!doc.getElementById('title')")

    visitor.locator("#name").fill("no matter the clock")
    in_replay(wait_for, console, "doc.getElementById('name').value === 'no matter the clock'")
    visitor.evaluate("window.addNode('added under a skewed clock')")
    in_replay(wait_for, console, "doc.getElementById('added')?.textContent === 'added under a skewed clock'")
    visitor.mouse.move(333, 222)
    pointer_at(wait_for, console, 333, 222)


def test_the_view_stays_current_without_animation_frames(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    """A console in a background tab gets no animation frames; it must still apply what arrives."""
    start_session(visitor, f"{stack.site}/basic.html", "live-no-raf", wait_for)
    console = agent()
    # From now on this console page never gets an animation frame, as in a hidden tab.
    console.context.add_init_script(
        "window.requestAnimationFrame = () => 1; window.cancelAnimationFrame = () => {};"
    )
    console.reload()
    assert console.evaluate("window.requestAnimationFrame(() => {})") == 1
    join(console, "live-no-raf")
    in_replay(wait_for, console, "!!doc.getElementById('title')")

    visitor.locator("#name").fill("typed while hidden")
    in_replay(wait_for, console, "doc.getElementById('name').value === 'typed while hidden'")
    visitor.evaluate("window.addNode('added while hidden')")
    in_replay(wait_for, console, "doc.getElementById('added')?.textContent === 'added while hidden'")
    visitor.evaluate("window.scrollTo(0, 900)")
    in_replay(wait_for, console, "win.scrollY === 900")
    visitor.mouse.move(250, 180)
    pointer_at(wait_for, console, 250, 180)


def test_join_with_an_unknown_or_invalid_key_rejects_with_a_code(agent: Callable[..., Page]) -> None:
    console = agent()
    error = console.evaluate(
        "() => window.CobrowseAgent.join('no-such-session').then(() => null, (e) => ({code: e.code, msg: e.message}))"
    )
    assert error is not None and error["code"] == "notfound", error
    bad = console.evaluate(
        "() => window.CobrowseAgent.join('bad key!').then(() => null, (e) => ({code: e.code, msg: e.message}))"
    )
    assert bad is not None and bad["code"] == "badkey", bad
    assert "1 to 100" in bad["msg"]
    assert json.loads(console.evaluate("JSON.stringify(window.CobrowseAgent.session)")) is None


def test_a_lost_frame_is_healed_by_a_resync(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    """A frame that never reaches the console (here: dropped by a proxy in front of its WebSocket) must not
    leave the view wrong: the next frame shows a gap in ``seq``, the console asks for a ``resync`` and the
    server's snapshot brings the view back in line."""
    start_session(visitor, f"{stack.site}/basic.html", "live-gap", wait_for)
    witness = agent()  # a second agent without a proxy: tells when the visitor's frame went out
    join(witness, "live-gap")

    console = agent()
    dropped: list[int] = []
    sent_by_console: list[str] = []

    def proxy(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_server(message: str | bytes) -> None:
            if isinstance(message, str):
                sent_by_console.append(json.loads(message)["t"])
            server.send(message)

        def to_console(message: str | bytes) -> None:
            if isinstance(message, str) and not dropped and "gap-node" in message:
                frame = json.loads(message)
                if frame["t"] == "events" and not frame["snapshot"]:
                    dropped.append(frame["seq"])  # lost on the way
                    return
            ws.send(message)

        ws.on_message(to_server)
        server.on_message(to_console)
        ws.on_close(lambda code, reason: server.close(code=code, reason=reason))
        server.on_close(lambda code, reason: ws.close(code=code, reason=reason))

    console.route_web_socket("**/ws/agent", proxy)
    join(console, "live-gap")
    in_replay(wait_for, console, "!!doc.getElementById('title')")

    visitor.evaluate("window.addNode('gap-node')")
    in_replay(wait_for, witness, "doc.getElementById('added')?.textContent === 'gap-node'")
    # The witness may see the frame before the proxy's handler has run: the sync API dispatches route callbacks
    # only while this thread is inside a Playwright call, so give it calls until the frame shows up.
    for _ in range(100):
        if dropped:
            break
        console.wait_for_timeout(50)
    assert len(dropped) == 1
    # The next frame changes the node the console never got.
    visitor.evaluate("document.getElementById('added').textContent = 'changed after the gap'")
    in_replay(wait_for, witness, "doc.getElementById('added')?.textContent === 'changed after the gap'")

    in_replay(wait_for, console, "doc.getElementById('added')?.textContent === 'changed after the gap'")
    assert "resync" in sent_by_console
    assert console.evaluate("window.CobrowseAgent.lastSeq") >= dropped[0]
    # and it goes on live from there
    visitor.locator("#name").fill("after the resync")
    in_replay(wait_for, console, "doc.getElementById('name').value === 'after the resync'")


def test_the_pointer_s_resting_place_reaches_the_agent_after_a_quick_move(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "live-pointer-rest", wait_for)
    console = agent()
    join(console, "live-pointer-rest")
    in_replay(wait_for, console, "doc.getElementById('title')?.textContent === 'Basic test page'")
    for _ in range(3):
        # two moves a few ms apart: rrweb's sampler records the first and drops the second (its throttle has
        # no trailing call), so only the pointer trail brings the resting point to the agent
        visitor.mouse.move(120, 140)
        visitor.mouse.move(377, 211)
        pointer_at(wait_for, console, 377, 211)
        visitor.mouse.move(377, 90)
        visitor.mouse.move(150, 260)
        pointer_at(wait_for, console, 150, 260)


def test_a_pointer_resting_where_it_was_recorded_sends_no_second_position(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    """The pointer trail adds the resting point only when the agent does not have it yet (pointer-trail.ts): a
    lone move, which rrweb records itself, costs one pointer event and one frame, not two."""
    sent: list[str] = []
    visitor.on(
        "websocket",
        lambda ws: ws.on("framesent", lambda p: sent.append(p if isinstance(p, str) else "")),
    )
    start_session(visitor, f"{stack.site}/basic.html", "live-pointer-once", wait_for)
    console = agent()
    join(console, "live-pointer-once")
    in_replay(wait_for, console, "doc.getElementById('title')?.textContent === 'Basic test page'")
    visitor.mouse.move(233, 177)
    pointer_at(wait_for, console, 233, 177)
    # a change made by the page well after the trail's resting time (80 ms): when it has been sent, so has
    # anything the trail would add for the move
    visitor.evaluate(
        "setTimeout(() => { document.getElementById('title').textContent = 'after the rest'; }, 400)"
    )
    in_replay(wait_for, console, "doc.getElementById('title')?.textContent === 'after the rest'")
    positions = [
        (p["x"], p["y"])
        for frame in sent
        if frame.startswith("{") and '"t":"events"' in frame
        for event in json.loads(frame)["data"]
        if event["type"] == 3 and event["data"].get("source") == 1
        for p in event["data"]["positions"]
    ]
    assert positions.count((233, 177)) == 1, positions
