"""Cross-domain continuation in real Chromium: two sites (``stack.site`` = a.localhost and ``stack.site_b`` =
b.localhost, which Chromium keeps apart: separate cookies), group 1 trusting both, and c.localhost trusted by
nobody.

- ``crossDomain({url})`` carries the session to b: same ``getCallId()``, ``sessioncontinue`` there, the agent's
  console shows b's page; the token travels in the fragment and is gone from b's address at once.
- An untrusted origin gets nothing: crossDomain rejects (no navigation, no token asked for), a link to it
  opens without a token, and the page there has no session.
- Links to b carry the session by themselves (same tab and ``target="_blank"``), unless the site cancelled
  the click; ``VisitorUI.promptCrossDomain`` carries it on Yes and not on No; a token works once; the
  deprecated ``continueSessionAt`` hands the session to b through a helper window, and then any page of b
  continues it.

Keys are distinct per test: the module shares one demo stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from support.visitor_pages import (
    RECORDER,
    VisitorSockets,
    api,
    events,
    in_replay,
    names,
    start,
    throws,
    watch,
)

Wait = Callable[..., Any]


@pytest.fixture(scope="module", autouse=True)
def trust_list(stack: Any) -> None:
    """Group 1 trusts its two sites; c.localhost (same pages, same server) is on no list."""
    stack.cli(
        "group", "settings", "--id", "1", "--trusted-domain", stack.site, "--trusted-domain", stack.site_b
    )


def untrusted_site(stack: Any) -> str:
    return str(stack.site).replace("//a.localhost", "//c.localhost")


class Navigations:
    """Every URL a page's main frame committed (fragments included: the token would show here)."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        page.on(
            "framenavigated", lambda frame: self.urls.append(frame.url) if frame == page.main_frame else None
        )

    def with_token(self) -> list[str]:
        return [url for url in self.urls if "glance_xd=" in url]


def open_in_session(page: Page, url: str, key: str, wait_for: Wait) -> int:
    """The visitor on ``url`` starts a session ``key``; returns its call id."""
    page.context.add_init_script(RECORDER)
    page.goto(url)
    start(page, wait_for, key)
    callid: int = api(page, "V.getCallId()")
    return callid


def wait_continued(page: Page, origin: str, wait_for: Wait) -> None:
    """Wait until ``page`` is on ``origin`` and the session is up there (statereceived) or gone."""
    wait_for(page, "(origin) => location.origin === origin", arg=origin)
    wait_for(
        page,
        "window.GLANCE?.Cobrowse?.Visitor?.readyState === 'statereceived'"
        " || (window.__events || []).some((e) => e.name === 'sessionend' || e.name === 'error')",
    )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@contextmanager
def other_visitor(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context of its own (no cookies of the visitor's)."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.context.add_init_script(RECORDER)
        yield page
    finally:
        context.close()


def test_crossdomain_continues_the_session_on_the_trusted_site(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    callid = open_in_session(visitor, f"{stack.site}/xdomain.html", "xd-url", wait_for)
    console = agent()
    watch(console, "xd-url", wait_for)
    in_replay(wait_for, console, "doc.getElementById('xd-marker')")
    navigations = Navigations(visitor)
    destination = f"{stack.site_b}/second.html"

    visitor.evaluate("(url) => { GLANCE.Cobrowse.Visitor.crossDomain({ url }); }", destination)

    wait_continued(visitor, stack.site_b, wait_for)
    assert api(visitor, "V.readyState") == "statereceived", events(visitor)
    assert api(visitor, "V.getCallId()") == callid
    assert api(visitor, "V.getKey()") == "xd-url"
    assert names(visitor)[:2] == ["sessioncontinue", "statereceived"]
    # the token went in the fragment, and is gone from the address (and the history) at once
    assert len(navigations.with_token()) == 1
    assert visitor.evaluate("location.href") == destination
    # the agent follows: b's page in the replay, b's URL as the session's page
    in_replay(wait_for, console, "doc.getElementById('second-marker')")
    wait_for(console, "(url) => window.CobrowseAgent.session?.page?.url === url", arg=destination)
    # b keeps the session on its own (its own cookie): the next page of b continues it
    visitor.goto(f"{stack.site_b}/basic.html")
    wait_continued(visitor, stack.site_b, wait_for)
    assert api(visitor, "V.getCallId()") == callid


def test_crossdomain_without_options_resolves_once_the_trust_list_is_known(
    stack: Any, visitor: Page, wait_for: Wait
) -> None:
    visitor.context.add_init_script(RECORDER)
    visitor.goto(f"{stack.site}/xdomain.html")
    assert throws(visitor, "V.crossDomain()") == {
        "message": "cobrowse: crossDomain can only be called while a session is active "
        "(GLANCE.Cobrowse.Visitor.inSession())",
        "code": "notinsession",
    }
    open_in_session(visitor, f"{stack.site}/xdomain.html", "xd-bare", wait_for)
    assert api(visitor, "V.isCrossDomainDone()") is False
    for bad in (
        "V.crossDomain('x')",
        "V.crossDomain({ url: 'javascript:alert(1)' })",
        "V.crossDomain({ url: '/x', target: '_top' })",
    ):
        error = throws(visitor, bad)
        assert error is not None and error["code"] == "invalidparams", (bad, error)
    visitor.evaluate("GLANCE.Cobrowse.Visitor.crossDomain().then(() => { window.xdDone = true; })")
    wait_for(visitor, "window.xdDone === true")
    assert api(visitor, "V.isCrossDomainDone()") is True
    assert visitor.url == f"{stack.site}/xdomain.html"


def test_crossdomain_opens_a_new_window_and_resolves(stack: Any, visitor: Page, wait_for: Wait) -> None:
    callid = open_in_session(visitor, f"{stack.site}/xdomain.html", "xd-window", wait_for)
    destination = f"{stack.site_b}/second.html#part"
    with visitor.context.expect_page() as opened:
        visitor.evaluate(
            """(url) => { GLANCE.Cobrowse.Visitor.crossDomain({ url, target: "_blank" })
                            .then(() => { window.xdDone = true; }); }""",
            destination,
        )
    window = opened.value
    wait_continued(window, stack.site_b, wait_for)
    assert api(window, "V.getCallId()") == callid
    # the site's own fragment is kept, the token is gone; the new window cannot reach back
    assert window.evaluate("location.href") == destination
    assert window.evaluate("window.opener") is None
    wait_for(visitor, "window.xdDone === true")
    assert api(visitor, "V.isCrossDomainDone()") is True
    assert visitor.url == f"{stack.site}/xdomain.html"


def test_an_untrusted_site_gets_nothing(stack: Any, visitor: Page, wait_for: Wait) -> None:
    sockets = VisitorSockets(visitor)
    callid = open_in_session(visitor, f"{stack.site}/xdomain.html", "xd-untrusted", wait_for)
    navigations = Navigations(visitor)
    elsewhere = f"{untrusted_site(stack)}/xdomain.html"

    # crossDomain to it rejects, navigates nowhere and asks the server for nothing
    error = visitor.evaluate(
        "(url) => GLANCE.Cobrowse.Visitor.crossDomain({ url }).then(() => null, (e) => ({ code: e.code, message: e.message }))",
        elsewhere,
    )
    assert error["code"] == "untrusted"
    assert "c.localhost" in error["message"]
    assert visitor.url == f"{stack.site}/xdomain.html"
    assert api(visitor, "V.isCrossDomainDone()") is False

    # a link to it is followed as the browser would, without a token
    visitor.evaluate("(url) => addLink('to-c', url)", elsewhere)
    visitor.locator("#to-c").click()
    wait_for(visitor, "(origin) => location.origin === origin", arg=origin_of(elsewhere))
    wait_for(visitor, "!!window.GLANCE?.Cobrowse?.Visitor?.loaded && document.readyState === 'complete'")
    assert navigations.urls[-1] == elsewhere
    assert navigations.with_token() == []
    assert "xdomain" not in sockets.types() and "xredeem" not in sockets.types()
    # and the page there has no session
    assert api(visitor, "V.inSession()") is False
    assert api(visitor, "V.getCallId()") is None
    assert "glance_ssn_info" not in visitor.evaluate("document.cookie")
    # back on a, the session was never given away
    visitor.goto(f"{stack.site}/xdomain.html")
    wait_continued(visitor, stack.site, wait_for)
    assert api(visitor, "V.getCallId()") == callid


def test_a_link_to_the_trusted_site_carries_the_session(stack: Any, visitor: Page, wait_for: Wait) -> None:
    sockets = VisitorSockets(visitor)
    callid = open_in_session(visitor, f"{stack.site}/xdomain.html", "xd-link", wait_for)
    destination = f"{stack.site_b}/xdomain.html?from=link"

    # a link the site takes over itself (it cancels the click) is left alone
    visitor.evaluate("(url) => addLink('handled', url, '', 'site-handled')", destination)
    visitor.locator("#handled").click()
    wait_for(visitor, "window.siteHandled === 1")
    assert visitor.url == f"{stack.site}/xdomain.html"

    visitor.evaluate("(url) => addLink('to-b', url)", destination)
    visitor.locator("#to-b").click()
    wait_continued(visitor, stack.site_b, wait_for)
    assert api(visitor, "V.getCallId()") == callid
    assert visitor.evaluate("location.href") == destination
    assert [m for m in sockets.messages() if m.get("t") == "xdomain"] == [
        {"v": 1, "t": "xdomain", "id": 1, "url": destination}
    ]


def test_a_link_to_a_new_tab_carries_the_session_there(stack: Any, visitor: Page, wait_for: Wait) -> None:
    callid = open_in_session(visitor, f"{stack.site}/xdomain.html", "xd-blank", wait_for)
    destination = f"{stack.site_b}/second.html"
    visitor.evaluate("(url) => addLink('to-b-tab', url, '_blank')", destination)
    with visitor.context.expect_page() as opened:
        visitor.locator("#to-b-tab").click()
    tab = opened.value
    wait_continued(tab, stack.site_b, wait_for)
    assert api(tab, "V.getCallId()") == callid
    assert tab.evaluate("location.href") == destination
    assert tab.evaluate("window.opener") is None
    # the first tab stayed where it was, still in the session
    assert visitor.url == f"{stack.site}/xdomain.html"
    assert api(visitor, "V.getCallId()") == callid


def test_prompt_yes_continues_the_session_and_no_does_not(
    stack: Any, visitor: Page, browser: Browser, screen: Any, wait_for: Wait
) -> None:
    destination = f"{stack.site_b}/second.html"
    with other_visitor(browser) as declining:
        sockets = VisitorSockets(declining)
        open_in_session(declining, f"{stack.site}/xdomain.html", "xd-prompt-no", wait_for)
        declining.evaluate(
            "(url) => { GLANCE.Cobrowse.VisitorUI.promptCrossDomain({ url }).then((yes) => { window.answer = yes; }); }",
            destination,
        )
        assert "Continue sharing on " + urlsplit(stack.site_b).netloc + "?" in screen.texts(declining)
        screen.click(declining, "No")
        wait_for(declining, "window.answer === false")
        assert declining.url == f"{stack.site}/xdomain.html"
        assert "xdomain" not in sockets.types()
        assert "Yes" not in screen.buttons(declining)

    callid = open_in_session(visitor, f"{stack.site}/xdomain.html", "xd-prompt-yes", wait_for)
    visitor.evaluate("(url) => { GLANCE.Cobrowse.VisitorUI.promptCrossDomain({ url }); }", destination)
    screen.click(visitor, "Yes")
    wait_continued(visitor, stack.site_b, wait_for)
    assert api(visitor, "V.getCallId()") == callid


def test_a_token_works_once(stack: Any, visitor: Page, browser: Browser, wait_for: Wait) -> None:
    callid = open_in_session(visitor, f"{stack.site}/xdomain.html", "xd-once", wait_for)
    navigations = Navigations(visitor)
    visitor.evaluate(
        "(url) => { GLANCE.Cobrowse.Visitor.crossDomain({ url }); }", f"{stack.site_b}/second.html"
    )
    wait_continued(visitor, stack.site_b, wait_for)
    assert api(visitor, "V.getCallId()") == callid
    [link] = navigations.with_token()

    # the same link opened again (another browser: no cookie of b): the token is spent
    with other_visitor(browser) as again:
        again.goto(link)
        wait_for(again, "window.__events.some((e) => e.name === 'error')")
        assert [e["payload"]["code"] for e in events(again) if e["name"] == "error"] == ["badtoken"]
        assert api(again, "V.inSession()") is False
        assert "glance_xd" not in again.evaluate("location.href")
        assert "glance_ssn_info" not in again.evaluate("document.cookie")


def test_continue_session_at_hands_the_session_over_before_a_redirect(
    stack: Any, visitor: Page, wait_for: Wait
) -> None:
    callid = open_in_session(visitor, f"{stack.site}/xdomain.html", "xd-legacy", wait_for)
    b_host = urlsplit(stack.site_b).netloc
    with visitor.context.expect_page() as opened:
        visitor.evaluate(
            """([destination, destinationurl]) => GLANCE.Cobrowse.Visitor.continueSessionAt({
                 destination, destinationurl, oncomplete: () => { window.completed = true; } })""",
            [b_host, f"{stack.site_b}/second.html"],
        )
    helper = opened.value
    wait_for(visitor, "window.completed === true")
    if not helper.is_closed():
        helper.wait_for_event("close")
    assert api(visitor, "V.isCrossDomainDone()") is True
    assert visitor.url == f"{stack.site}/xdomain.html"

    # the site now sends the visitor to b its own way (a redirect: no token in that URL)
    visitor.goto(f"{stack.site_b}/basic.html")
    wait_continued(visitor, stack.site_b, wait_for)
    assert api(visitor, "V.getCallId()") == callid
    assert names(visitor)[:2] == ["sessioncontinue", "statereceived"]
