"""The console's agent-side events of issue 5: ``navigate``, ``pagevisibility`` and ``sessionend``.

A visitor's page in one browser context, the agent console in another; the console records the events it gets
through ``CobrowseAgent.on`` (docs/agent-api.md) in ``window.seen``. Keys are distinct per test: the module
shares one demo stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page

Wait = Callable[..., Any]

_RECORD = """() => {
  window.seen = [];
  for (const name of ["navigate", "pagevisibility", "visitor", "sessionend", "ended", "page"]) {
    window.CobrowseAgent.on(name, (data) => window.seen.push({ name, data }));
  }
}"""


def start_session(visitor: Page, url: str, key: str, wait_for: Wait) -> None:
    visitor.goto(url)
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate("(key) => GLANCE.Cobrowse.Visitor.startSession(key)", key)
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true")


def join_and_record(console: Page, key: str, wait_for: Wait) -> None:
    wait_for(console, "!!window.CobrowseAgent")
    console.evaluate(_RECORD)
    console.evaluate("(key) => window.CobrowseAgent.join(key)", key)


def seen(console: Page, name: str) -> list[Any]:
    events: list[dict[str, Any]] = console.evaluate("window.seen")
    return [e["data"] for e in events if e["name"] == name]


def test_navigate_fires_once_when_the_visitor_moves_to_another_page(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "events-nav", wait_for)
    console = agent()
    join_and_record(console, "events-nav", wait_for)
    # the page the visitor is on when the agent joins is no navigation
    wait_for(console, "window.CobrowseAgent.state === 'joined' && window.CobrowseAgent.epoch !== null")
    assert seen(console, "navigate") == []

    visitor.locator("#to-second").click()
    second = f"{stack.site}/second.html"
    wait_for(
        console, "(url) => window.seen.some((e) => e.name === 'navigate' && e.data.url === url)", arg=second
    )
    navigations = seen(console, "navigate")
    assert navigations == [{"url": second, "title": "Second test page"}]
    # the new page's connection came: `pagevisibility` follows the visitor page's presence (`visitor`)
    wait_for(console, "window.seen.some((e) => e.name === 'pagevisibility' && e.data.visible === true)")
    visibility = [v["visible"] for v in seen(console, "pagevisibility")]
    assert visibility == [v["connected"] for v in seen(console, "visitor")]
    assert visibility[-1] is True


def test_sessionend_fires_with_the_reason_when_the_visitor_stops(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "events-end", wait_for)
    console = agent()
    join_and_record(console, "events-end", wait_for)
    visitor.evaluate("GLANCE.Cobrowse.Visitor.stopSession()")
    wait_for(console, "window.seen.some((e) => e.name === 'sessionend')")
    assert seen(console, "sessionend") == [{"reason": "visitor"}]
    assert seen(console, "ended") == [{"reason": "visitor"}]
    assert console.evaluate("window.CobrowseAgent.state") == "ended"
