"""Guests in Chromium: an agent invites from the console, the guest opens the link in a browser of its own,
asks to join, is admitted and sees the visitor's page; the visitor's ``agents`` event lists the guest with
role "guest". A declined guest sees nothing of the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page

if TYPE_CHECKING:  # the fixtures' types; conftest modules are not imported at run time
    from conftest import AgentFactory, Stack, _Pages

Wait = Callable[..., Any]

_REPLAY = (
    "const frame = window.CobrowseAgent && window.CobrowseAgent.replayFrame();"
    " const doc = frame && frame.contentDocument;"
    " if (!doc || !doc.body) return false;"
)


def replay_title(wait_for: Wait, page: Page) -> Any:
    """Wait until the page's replay shows the basic page's heading; its text."""
    return wait_for(
        page, f"() => {{ {_REPLAY} const h = doc.getElementById('title'); return h && h.textContent; }}"
    )


def start_session(visitor: Page, url: str, key: str, wait_for: Wait) -> None:
    visitor.goto(url)
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate(
        """(key) => {
             window.__agents = [];
             GLANCE.Cobrowse.Visitor.addEventListener("agents",
               (e) => window.__agents.push(JSON.parse(JSON.stringify(e))));
             GLANCE.Cobrowse.Visitor.startSession(key);
           }""",
        key,
    )
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true")


def ask_to_join(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.locator("#cb-guest-name").fill(name)
    page.locator("#cb-guest-button").click()


def test_guest_is_admitted_and_sees_the_page(
    stack: Stack, visitor: Page, agent: AgentFactory, _pages: _Pages, wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "guests-e2e", wait_for)
    console = agent()
    # the idle console lists the group's live sessions (key, visitor, page); joining from the list
    listed = console.evaluate("() => window.CobrowseAgent.listSessions()")
    mine = next(s for s in listed if s["key"] == "guests-e2e")
    assert mine["pageUrl"].endswith("/basic.html") and mine["startedAt"]
    row = console.locator('#cb-live-list li[data-key="guests-e2e"]')
    assert "Basic test page" in row.inner_text()
    row.locator("button").click()
    assert replay_title(wait_for, console) == "Basic test page"
    assert console.evaluate("window.CobrowseAgent.session.key") == "guests-e2e"

    console.locator("#cb-invite").click()
    url = wait_for(console, "() => document.getElementById('cb-guest-link').value")
    assert url.startswith(stack.server + "/guest/")

    guest = _pages.new_page("guest")  # a browser context of its own: no agent cookie
    ask_to_join(guest, url, "Gus Guest")
    prompt = console.locator('#cb-guest-requests li:has-text("Gus Guest")')
    prompt.locator('[data-action="admit"]').click()

    wait_for(guest, "window.CobrowseAgent.state === 'joined'")
    assert replay_title(wait_for, guest) == "Basic test page"
    assert guest.locator("#cb-end").is_hidden()  # a guest cannot end the session

    # the visitor's agents event lists the guest, and the console's side panel shows it
    agents = wait_for(
        visitor,
        "() => { const e = window.__agents.at(-1);"
        " return e && e.agentlist.some((a) => a.role === 'guest') && e; }",
    )
    assert agents["count"] == 2
    entry = next(a for a in agents["agentlist"] if a["role"] == "guest")
    assert entry["name"] == "Gus Guest" and isinstance(entry["guestid"], int) and entry["num"] == 2
    wait_for(console, "() => document.getElementById('cb-agents').textContent.includes('Gus Guest')")

    # live changes reach the guest too
    visitor.evaluate("window.addNode('for everyone')")
    wait_for(
        guest, f"() => {{ {_REPLAY} const p = doc.getElementById('added'); return p && p.textContent; }}"
    )

    # the link was single use: opening it again shows why, and nothing else
    again = _pages.new_page("guest-again")
    response = again.goto(url)
    assert response is not None and response.status == 404
    assert "already been used" in again.locator("#cb-guest-error").inner_text()


def test_declined_guest_sees_nothing(
    stack: Stack, visitor: Page, agent: AgentFactory, _pages: _Pages, wait_for: Wait
) -> None:
    start_session(visitor, f"{stack.site}/basic.html", "guests-no-e2e", wait_for)
    console = agent()
    console.evaluate("(key) => window.CobrowseAgent.join(key)", "guests-no-e2e")
    replay_title(wait_for, console)
    invitation = console.evaluate("() => window.CobrowseAgent.inviteGuest()")
    assert invitation["url"].startswith(stack.server + "/guest/") and invitation["expiresAt"]

    guest = _pages.new_page("guest")
    ask_to_join(guest, invitation["url"], "Nosy")
    console.locator('#cb-guest-requests li:has-text("Nosy") [data-action="decline"]').click()

    wait_for(guest, "() => document.getElementById('cb-guest-error').textContent.includes('declined')")
    assert guest.evaluate("window.CobrowseAgent.state") == "error"
    assert guest.evaluate("window.CobrowseAgent.replayFrame()") is None
    assert guest.evaluate("window.CobrowseAgent.session") is None
    # the visitor never saw a guest
    assert visitor.evaluate("window.__agents.every((e) => e.agentlist.every((a) => a.role !== 'guest'))")
