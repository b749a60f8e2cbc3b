"""The group's role policy in the console: an agent of another role is refused with ``accessdenied`` when the
group does not allow mixed roles, and joins when it does (the visitor's ``agents`` event lists both roles)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page

if TYPE_CHECKING:  # the fixtures' types; conftest modules are not imported at run time
    from conftest import AgentFactory, Stack

Wait = Callable[..., Any]
PASSWORD = "role-password-1"


def start_session(visitor: Page, url: str, key: str, wait_for: Wait) -> None:
    visitor.goto(url)
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate("(key) => GLANCE.Cobrowse.Visitor.startSession(key)", key)
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true")


def try_join(page: Page, key: str) -> dict[str, Any]:
    """Join through the console API, recording ``accessdenied`` events; what happened."""
    result: dict[str, Any] = page.evaluate(
        """async (key) => {
             window.__denied = [];
             CobrowseAgent.on("accessdenied", (e) => window.__denied.push(e));
             try { const info = await CobrowseAgent.join(key); return {joined: true, agents: info.agents.count}; }
             catch (err) { return {joined: false, code: err.code, denied: window.__denied}; }
           }""",
        key,
    )
    return result


def test_role_policy_in_the_console(stack: Stack, visitor: Page, agent: AgentFactory, wait_for: Wait) -> None:
    for username, role in (("e2e-sales", "sales"), ("e2e-support", "support")):
        stack.cli(
            "agent",
            "create",
            "--username",
            username,
            "--group",
            "1",
            "--agentrole",
            role,
            "--password",
            PASSWORD,
        )
    stack.cli("group", "settings", "--id", "1", "--mixed-roles", "no")
    start_session(visitor, f"{stack.site}/basic.html", "roles-e2e", wait_for)
    sales = agent("e2e-sales", PASSWORD)
    assert try_join(sales, "roles-e2e")["joined"] is True
    support = agent("e2e-support", PASSWORD)
    refused = try_join(support, "roles-e2e")
    assert refused["joined"] is False and refused["code"] == "accessdenied"
    assert refused["denied"] and "'sales'" in refused["denied"][0]["msg"]

    stack.cli("group", "settings", "--id", "1", "--mixed-roles", "yes")
    try:
        assert try_join(support, "roles-e2e")["joined"] is True
        wait_for(sales, "CobrowseAgent.session && CobrowseAgent.session.agents.count === 2")
        roles = sales.evaluate("CobrowseAgent.session.agents.agentlist.map((a) => a.agentrole).sort()")
        assert roles == ["sales", "support"]
    finally:
        stack.cli("group", "settings", "--id", "1", "--mixed-roles", "no")
