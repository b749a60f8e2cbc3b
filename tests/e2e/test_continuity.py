"""Session continuity in the visitor SDK (issue 7): network cuts, server restarts and tabs, end to end.

- A network cut (DevTools' offline emulation, Playwright's ``set_offline``): in this Chromium it does not close
  an open WebSocket, it stalls it and refuses new ones; the SDK hears the browser's ``offline`` event, drops the
  socket and keeps recording. Back online, the agent's view shows everything typed meanwhile, in the same epoch
  (no fresh snapshot was needed) and with frame numbers that follow on without a gap (the console never had to
  ask for a resync: it applies only the next number, or a snapshot).
- Frames lost in flight (the page's socket swallowed and dropped by a Playwright WebSocket route) are resent
  from the page's buffer after the reconnect, again without a new snapshot.
- A cut past the buffer's bound heals with a fresh snapshot.
- The server killed (SIGKILL) or shut down (SIGTERM, close 1012) and started again on the same ports and data:
  the visitor and the console reconnect by themselves to the same session (same call id) and the view resumes.
- Two tabs of the site: the agent sees the tab the visitor is on; ``blur`` / ``focus`` fire on the pages; the
  agents are told how many tabs there are. Headless Chromium neither hides nor blurs a page brought to the
  front, so switching tabs is done as the browser would report it: window ``blur`` on the tab left, ``focus``
  on the tab shown.

The console is driven through ``window.CobrowseAgent`` (docs/agent-api.md); its frames are read from its
``events`` event ({seq, epoch, snapshot}).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute

from support.rc_agent import RawAgent

Wait = Callable[..., Any]

_REPLAY = (
    "const frame = window.CobrowseAgent && window.CobrowseAgent.replayFrame();"
    " const doc = frame && frame.contentDocument;"
    " if (!doc || !doc.body) return false;"
)

#: Records the visitor events a test looks at, in order, in ``window.__events``.
_RECORD_EVENTS = """() => {
  window.__events = [];
  for (const name of ['connection', 'blur', 'focus', 'sessionend', 'error', 'agents', 'rcrequested']) {
    GLANCE.Cobrowse.Visitor.addEventListener(name, (payload) => {
      window.__events.push({ name, payload: name === 'rcrequested' ? {} : payload });
    });
  }
}"""

#: Records every frame the console applies from now on in ``window.__frames``; returns [epoch, lastSeq] now.
_RECORD_FRAMES = """() => {
  window.__frames = [];
  CobrowseAgent.on('events', (f) => window.__frames.push(f));
  return [CobrowseAgent.epoch, CobrowseAgent.lastSeq];
}"""


def in_replay(wait_for: Wait, page: Page, expression: str, arg: Any = None, timeout: float = 10_000) -> Any:
    """Wait until ``expression`` (it may use ``doc``, the replayed document, and ``arg``) is truthy."""
    return wait_for(page, f"(arg) => {{ {_REPLAY} return ({expression}); }}", arg=arg, timeout=timeout)


def replayed_value(wait_for: Wait, page: Page, element_id: str, value: str, timeout: float = 10_000) -> None:
    in_replay(
        wait_for, page, "doc.getElementById(arg[0])?.value === arg[1]", arg=[element_id, value], timeout=timeout
    )


def start_session(visitor: Page, url: str, key: str, wait_for: Wait) -> None:
    visitor.goto(url)
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate(_RECORD_EVENTS)
    visitor.evaluate("(key) => GLANCE.Cobrowse.Visitor.startSession(key)", key)
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.readyState === 'statereceived'")


def join(console: Page, key: str, wait_for: Wait) -> None:
    console.evaluate("(key) => window.CobrowseAgent.join(key)", key)
    in_replay(wait_for, console, "!!doc.getElementById('name') || !!doc.getElementById('second-marker')")


def payloads(page: Page, name: str) -> list[Any]:
    """The payloads of the visitor events named ``name`` recorded on ``page``, in order."""
    return [e["payload"] for e in page.evaluate("window.__events") if e["name"] == name]


def names(page: Page, *among: str) -> list[str]:
    """The names of the visitor events recorded on ``page`` that are among ``among``, in order."""
    return [e["name"] for e in page.evaluate("window.__events") if e["name"] in among]


def wait_connection(wait_for: Wait, page: Page, status: str, timeout: float = 10_000) -> None:
    wait_for(
        page,
        "(s) => window.__events.some(e => e.name === 'connection' && e.payload.status === s)",
        arg=status,
        timeout=timeout,
    )


def frames_since(console: Page, last_seq: int) -> list[dict[str, Any]]:
    """The frames the console applied after frame ``last_seq`` (see _RECORD_FRAMES), in the order applied."""
    frames: list[dict[str, Any]] = console.evaluate("(last) => window.__frames.filter(f => f.seq > last)", last_seq)
    return frames


def assert_numbered_on(frames: list[dict[str, Any]], last_seq: int, epoch: int) -> None:
    """Every frame applied since ``last_seq`` is the next number, in the same epoch, and none is a snapshot."""
    assert frames, "no frame reached the console"
    assert [f["seq"] for f in frames] == list(range(last_seq + 1, last_seq + 1 + len(frames)))
    assert {(f["epoch"], f["snapshot"]) for f in frames} == {(epoch, False)}


# --- network cuts -----------------------------------------------------------------------------------------


def test_a_network_cut_loses_nothing_typed_meanwhile_and_needs_no_new_snapshot(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "cont-cut", wait_for)
    console = agent()
    join(console, "cont-cut", wait_for)
    visitor.locator("#name").press_sequentially("online, ")
    replayed_value(wait_for, console, "name", "online, ")
    epoch, last_seq = console.evaluate(_RECORD_FRAMES)

    visitor.context.set_offline(True)
    wait_connection(wait_for, visitor, "reconnecting")
    visitor.locator("#name").press_sequentially("typed offline")
    visitor.locator("#notes").press_sequentially("and notes")
    visitor.context.set_offline(False)
    wait_connection(wait_for, visitor, "ok")

    replayed_value(wait_for, console, "name", "online, typed offline")
    replayed_value(wait_for, console, "notes", "and notes")
    assert_numbered_on(frames_since(console, last_seq), last_seq, epoch)
    assert console.evaluate("CobrowseAgent.epoch") == epoch
    assert payloads(visitor, "connection") == [{"status": "reconnecting"}, {"status": "ok"}]
    # ... and the session goes on as before
    visitor.locator("#notes").press("End")
    visitor.locator("#notes").press_sequentially("!")
    replayed_value(wait_for, console, "notes", "and notes!")
    visitor.evaluate("GLANCE.Cobrowse.Visitor.stopSession()")


def test_frames_lost_with_the_socket_are_sent_again_after_the_reconnect(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    """The page's socket goes through a Playwright route; at the cut it swallows what the page sends (as a
    connection that dies with data in flight), then drops the page's side once a frame with the typed word
    went into the void."""
    cut = {"on": False}
    swallowed: list[str] = []

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_server(message: str | bytes) -> None:
            if not cut["on"]:
                server.send(message)
                return
            swallowed.append(str(message))
            if '"t":"events"' in str(message) and "lost" in str(message):
                cut["on"] = False
                ws.close(code=4999, reason="connection lost")
                server.close()

        ws.on_message(to_server)

    visitor.route_web_socket("**/ws/visitor", route)
    start_session(visitor, f"{stack.site}/basic.html", "cont-lost", wait_for)
    console = agent()
    join(console, "cont-lost", wait_for)
    visitor.locator("#name").press_sequentially("kept, ")
    replayed_value(wait_for, console, "name", "kept, ")
    epoch, last_seq = console.evaluate(_RECORD_FRAMES)

    cut["on"] = True
    visitor.locator("#name").press_sequentially("not lost")
    wait_connection(wait_for, visitor, "ok")
    replayed_value(wait_for, console, "name", "kept, not lost")
    assert any('"t":"events"' in m for m in swallowed)  # frames the server never got ...
    assert_numbered_on(frames_since(console, last_seq), last_seq, epoch)  # ... came again, in the same epoch
    visitor.evaluate("GLANCE.Cobrowse.Visitor.stopSession()")


def test_a_cut_past_the_buffers_bound_heals_with_a_fresh_snapshot(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "cont-overflow", wait_for)
    console = agent()
    join(console, "cont-overflow", wait_for)
    epoch, last_seq = console.evaluate(_RECORD_FRAMES)

    visitor.context.set_offline(True)
    wait_connection(wait_for, visitor, "reconnecting")
    # 9 MB of page changes while offline: past the 8 MiB the page keeps unsent (outbox.ts MAX_PENDING_BYTES)
    visitor.evaluate(
        """async () => {
          const pause = () => new Promise((resolve) => setTimeout(resolve, 20));
          for (let i = 0; i < 9; i++) {
            const node = document.getElementById(window.addNode('x'.repeat(1000000)));
            await pause();
            node.remove();
            await pause();
          }
          window.addNode('after the overflow');
        }"""
    )
    visitor.locator("#name").press_sequentially("typed after it")
    visitor.context.set_offline(False)
    wait_connection(wait_for, visitor, "ok")

    in_replay(wait_for, console, "doc.querySelector('.added:last-child')?.textContent === 'after the overflow'")
    replayed_value(wait_for, console, "name", "typed after it")
    frames = frames_since(console, last_seq)
    assert frames[0] == {"seq": last_seq + 1, "epoch": epoch + 1, "snapshot": True, "masked": False}
    assert [f["seq"] for f in frames] == list(range(last_seq + 1, last_seq + 1 + len(frames)))
    assert console.evaluate("CobrowseAgent.epoch") == epoch + 1
    visitor.evaluate("GLANCE.Cobrowse.Visitor.stopSession()")


# --- server restarts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kill", [True, False], ids=["killed", "shut-down"])
def test_after_a_server_restart_visitor_and_agent_continue_the_same_session(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait, kill: bool
) -> None:
    key = "cont-killed" if kill else "cont-shutdown"
    start_session(visitor, f"{stack.site}/basic.html", key, wait_for)
    call_id = visitor.evaluate("GLANCE.Cobrowse.Visitor.getCallId()")
    console = agent()
    join(console, key, wait_for)
    visitor.locator("#name").press_sequentially("before, ")
    replayed_value(wait_for, console, "name", "before, ")

    stack.stop(kill=kill)
    wait_connection(wait_for, visitor, "reconnecting")
    wait_for(console, "CobrowseAgent.connection === 'reconnecting'")
    visitor.locator("#name").press("End")
    visitor.locator("#name").press_sequentially("while down, ")  # recorded while nobody listens
    stack.start()

    wait_connection(wait_for, visitor, "ok", timeout=30_000)
    assert visitor.evaluate("[GLANCE.Cobrowse.Visitor.inSession(), GLANCE.Cobrowse.Visitor.getCallId()]") == [
        True,
        call_id,
    ]
    wait_for(
        console,
        "CobrowseAgent.connection === 'connected' && CobrowseAgent.state === 'joined'",
        timeout=30_000,
    )
    assert console.evaluate("CobrowseAgent.session.session") == call_id
    replayed_value(wait_for, console, "name", "before, while down, ", timeout=15_000)
    visitor.locator("#name").press("End")
    visitor.locator("#name").press_sequentially("after")
    replayed_value(wait_for, console, "name", "before, while down, after")
    assert names(visitor, "sessionend", "error") == []
    visitor.evaluate("GLANCE.Cobrowse.Visitor.stopSession()")


# --- tabs -------------------------------------------------------------------------------------------------


def switch_tab(left: Page, shown: Page) -> None:
    """What the browser reports when the visitor goes from tab ``left`` to tab ``shown``."""
    left.evaluate("window.dispatchEvent(new Event('blur'))")
    shown.evaluate("window.dispatchEvent(new Event('focus'))")


def carrying(wait_for: Wait, page: Page, event: str) -> None:
    """Wait until the last of the ``blur`` / ``focus`` events on ``page`` is ``event``."""
    wait_for(
        page,
        "(name) => window.__events.filter(e => e.name === 'blur' || e.name === 'focus').at(-1)?.name === name",
        arg=event,
    )


def last_focus_event(page: Page) -> str | None:
    seen = names(page, "blur", "focus")
    return seen[-1] if seen else None


def test_with_two_tabs_the_agent_sees_the_one_the_visitor_is_on(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "cont-tabs", wait_for)
    assert last_focus_event(visitor) == "focus"
    console = agent()
    join(console, "cont-tabs", wait_for)
    in_replay(wait_for, console, "doc.getElementById('title')?.textContent === 'Basic test page'")
    raw = RawAgent(stack.server, "cont-tabs")
    try:
        # A second tab of the site joins the session; the newest page is the one the visitor is on.
        second = visitor.context.new_page()
        second.goto(f"{stack.site}/second.html")
        wait_for(second, "GLANCE.Cobrowse.Visitor.readyState === 'statereceived'")
        second.evaluate(_RECORD_EVENTS)
        assert second.evaluate("GLANCE.Cobrowse.Visitor.getCallId()") == visitor.evaluate(
            "GLANCE.Cobrowse.Visitor.getCallId()"
        )
        in_replay(wait_for, console, "!!doc.getElementById('second-marker')")
        carrying(wait_for, visitor, "blur")
        raw.wait(lambda m: m["t"] == "visitor" and m["tabs"] == 2 and m["connected"])

        # Back to the first tab: the agent sees it again, and what happens there.
        switch_tab(second, visitor)
        in_replay(wait_for, console, "doc.getElementById('title')?.textContent === 'Basic test page'")
        carrying(wait_for, visitor, "focus")
        carrying(wait_for, second, "blur")
        visitor.locator("#name").press_sequentially("in the first tab")
        replayed_value(wait_for, console, "name", "in the first tab")

        # To the second tab again.
        switch_tab(visitor, second)
        in_replay(wait_for, console, "!!doc.getElementById('second-marker')")
        carrying(wait_for, second, "focus")
        carrying(wait_for, visitor, "blur")
        second.locator("#second-input").press_sequentially("in the second tab")
        replayed_value(wait_for, console, "second-input", "in the second tab")

        # A remote-control request is asked in the tab shown only (every tab hears it).
        asker = RawAgent(stack.server, "cont-tabs")
        asker.send(t="rc_request")
        wait_for(second, "window.__events.some(e => e.name === 'rcrequested')")
        asker.close()  # the agents list that follows reaches the first tab after the request did
        wait_for(visitor, "window.__events.filter(e => e.name === 'agents').at(-1)?.payload.count === 2")
        assert "rcrequested" not in names(visitor, "rcrequested")

        # Closing the shown tab shows the other one at once.
        mark = raw.mark()
        second.close()
        raw.wait(lambda m: m["t"] == "visitor" and m["tabs"] == 1, since=mark)
        in_replay(wait_for, console, "doc.getElementById('name')?.value === 'in the first tab'")
        visitor.evaluate("window.dispatchEvent(new Event('focus'))")
        carrying(wait_for, visitor, "focus")
    finally:
        raw.close()
    visitor.evaluate("GLANCE.Cobrowse.Visitor.stopSession()")
