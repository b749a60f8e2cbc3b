"""The console's administration page in Chromium: the demo administrator creates an agent through the page's
form, changes permissions and a group's settings there, and the new agent can then sign in.

Everything the page does goes through the REST API with the console cookie, so this also shows that the page's
same-origin requests pass the CSRF check. Results are checked against the REST API (``/api/v1``) as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page

Wait = Callable[..., Any]


def open_admin(console: Page, stack: Any, wait_for: Wait) -> None:
    console.locator("#cb-admin-link").click()
    console.wait_for_url(f"{stack.server}/agent/admin")
    wait_for(console, "document.body.dataset.ready === 'true'")


def api(page: Page, path: str) -> Any:
    return page.evaluate("(path) => fetch('/api/v1' + path).then((r) => r.json())", path)


def test_the_admin_creates_an_agent_who_can_then_sign_in(
    stack: Any, agent: Callable[..., Page], wait_for: Wait
) -> None:
    console = agent()
    open_admin(console, stack, wait_for)
    assert console.locator('#adm-agents tr[data-username="demo"]').count() == 1

    form = console.locator("#adm-create")
    form.locator('input[name="username"]').fill("newbie")
    form.locator('input[name="name"]').fill("New <b>Agent</b>")
    form.locator('input[name="password"]').fill("newbie-password-1")
    form.locator('input[name="agentrole"]').fill("sales")
    form.locator('input[name="perm"][value="invite_guests"]').check()
    form.locator('button[type="submit"]').click()
    wait_for(console, "!!document.querySelector('#adm-agents tr[data-username=\"newbie\"]')")
    assert console.locator("#adm-status").get_attribute("data-kind") == "ok"
    row = console.locator('#adm-agents tr[data-username="newbie"]')
    # the name is shown as text, not markup
    assert row.locator("td").nth(1).text_content() == "New <b>Agent</b>"
    assert row.locator("b").count() == 0
    created = next(a for a in api(console, "/agents") if a["username"] == "newbie")
    assert created["agentrole"] == "sales"
    assert created["groups"] == [1]
    assert set(created["permissions"]) == {"view", "remote_control", "invite_guests"}

    # change its permissions in the table
    row.locator('input[name="perm"][value="remote_control"]').uncheck()
    row.locator("button").click()
    wait_for(
        console,
        "() => fetch('/api/v1/agents').then((r) => r.json())"
        ".then((all) => all.find((a) => a.username === 'newbie').permissions.join(',') === 'view,invite_guests')",
    )

    # the new agent signs in to the console, and sees no admin link
    newbie = agent("newbie", "newbie-password-1")
    assert newbie.locator("#cb-admin-link").is_hidden()
    assert api(newbie, "/me")["username"] == "newbie"


def test_the_admin_changes_group_settings_and_masking_rules(
    stack: Any, agent: Callable[..., Page], wait_for: Wait
) -> None:
    console = agent()
    open_admin(console, stack, wait_for)
    group = console.locator('form[data-group="1"]')
    group.locator('textarea[name="origins"]').fill(f"{stack.site}\n{stack.site_b}")
    group.locator('input[name="max"]').fill("5")
    group.locator('textarea[name="selectors"]').fill("#card-number")
    group.locator('button[type="submit"]').click()
    wait_for(console, "document.getElementById('adm-status').textContent.includes('saved')")
    settings = api(console, "/groups/1/settings")
    assert settings["allowed_origins"] == [stack.site, stack.site_b]
    assert settings["max_live_sessions"] == 5
    assert api(console, "/groups/1/masking")["selectors"] == ["#card-number"]
    # emptied: no limit again
    group.locator('input[name="max"]').fill("")
    group.locator('textarea[name="origins"]').fill("")
    group.locator('button[type="submit"]').click()
    wait_for(
        console,
        "() => fetch('/api/v1/groups/1/settings').then((r) => r.json())"
        ".then((s) => s.max_live_sessions === null && s.allowed_origins.length === 0)",
    )
