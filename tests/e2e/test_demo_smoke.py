"""The demo, end to end: its website carries the script, the console signs in, and a session goes live.

This is the README's first promise (``scripts/demo``): open the demo website, click "Share my screen", read
the key to an agent who signs in to the console and joins with it, and the agent sees the page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page

from cobrowse.demo_site import page_names

if TYPE_CHECKING:  # the fixtures' types; conftest modules are not imported at run time
    from conftest import AgentFactory, Screen, Stack

TEST_PAGES = Path(__file__).resolve().parent / "pages"
Wait = Callable[..., Any]


def test_every_demo_page_loads_the_visitor_script_from_the_server(
    stack: Stack, visitor: Page, wait_for: Wait
) -> None:
    names = page_names(TEST_PAGES)
    # hostile.html adds a meta refresh to http://127.0.0.1:1/ after load: answer it with 204 (no navigation).
    visitor.route("http://127.0.0.1:1/**", lambda route: route.fulfill(status=204))
    assert {"index", "form", "long", "live", "custom", "basic", "hostile"} <= set(names)
    for name in names:
        visitor.goto(f"{stack.site}/{name}.html")
        src = visitor.eval_on_selector("script#glance-cobrowse", "s => s.src")
        assert src == f"{stack.server}/static/visitor.js", name
        assert visitor.eval_on_selector("script#glance-cobrowse", "s => s.dataset.groupid") == "1"
        # The script ran: the site (another origin) got the visitor API from the server.
        wait_for(visitor, "typeof window.GLANCE?.Cobrowse?.Visitor?.startSession === 'function'")
    assert urlsplit(stack.site).hostname != urlsplit(stack.server).hostname


def test_demo_website_answers_unknown_pages_with_404(stack: Stack, visitor: Page) -> None:
    response = visitor.goto(f"{stack.site}/no-such-page.html")
    assert response is not None and response.status == 404


def test_console_login_page_and_demo_credentials(stack: Stack, browser: Browser, agent: AgentFactory) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(f"{stack.server}/agent/")
        assert response is not None and response.ok
        assert urlsplit(page.url).path == "/agent/login"  # not logged in: sent to the form
        assert page.locator('input[name="username"]').is_visible()
        assert page.locator('input[name="password"]').is_visible()
    finally:
        context.close()
    console = agent()  # demo / demo-password, seeded by the demo
    assert urlsplit(console.url).path == "/agent/"


def test_wrong_password_is_refused(stack: Stack, agent: AgentFactory) -> None:
    try:
        agent(password="not-the-password")
    except AssertionError as exc:
        assert "did not reach /agent/" in str(exc)
    else:
        raise AssertionError("a wrong password logged in")


def test_visitor_shares_the_demo_form_and_the_agent_sees_it(
    stack: Stack, visitor: Page, agent: AgentFactory, screen: Screen, wait_for: Wait
) -> None:
    visitor.goto(f"{stack.site}/form.html")
    visitor.locator("#name").fill("Jane Visitor")
    wait_for(visitor, "document.querySelector('glance-cobrowse-ui') !== null")
    screen.click(visitor, "Share my screen")
    key = wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() && GLANCE.Cobrowse.Visitor.getKey()")
    assert isinstance(key, str) and key.isdigit()
    # The key is shown to the visitor, who reads it out to the agent.
    assert key in screen.texts(visitor)

    console = agent()
    console.locator("#cb-key-input").fill(key)
    console.locator("#cb-join-button").click()
    wait_for(console, "window.CobrowseAgent.state === 'joined'")
    # The agent sees the visitor's form, with what the visitor had typed.
    value = wait_for(
        console,
        "() => window.CobrowseAgent.replayFrame()?.contentDocument?.querySelector('#name')?.value",
    )
    assert value == "Jane Visitor"
    doc = "window.CobrowseAgent.replayFrame().contentDocument"
    assert console.evaluate(f"!!{doc}.querySelector('form#application #card-number')")
    assert console.evaluate(f"{doc}.title") == "Apply for a card - Northwind Bank"
    # ...and what the visitor types next.
    visitor.locator("#message").fill("Can you help me?")
    wait_for(console, f"{doc}.querySelector('#message').value === 'Can you help me?'")


def test_an_agent_created_with_the_cli_can_sign_in_to_the_running_demo(
    stack: Stack, agent: AgentFactory
) -> None:
    done = stack.cli("agent", "create", "--username", "second", "--group", "1", "--password", "second-pass-1")
    assert "second" in done.stdout
    console = agent("second", "second-pass-1")
    assert urlsplit(console.url).path == "/agent/"
