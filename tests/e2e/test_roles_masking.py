"""The spec's role-based masking example with two agents of different roles, under both role policies.

Mixing not allowed: the second role is refused with ``accessdenied`` and the hook never sees it. Mixing
allowed: the hook is called again on the join with both agents, and (as the spec warns) the newcomer sees what
the rules made for the first agent's role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page

if TYPE_CHECKING:
    from conftest import AgentFactory, Stack

Wait = Callable[..., Any]
PASSWORD = "region-password-1"

# Records each call of the page's masking hook (the number of agents it was given) without changing the
# page's own code: GLANCE_COBROWSE is a proxy that wraps the hook when the page assigns it.
SPY = """
(() => {
  const calls = []; window.__hookAgents = calls;
  const target = {};
  window.GLANCE_COBROWSE = new Proxy(target, { set(t, key, value) {
    if (key === "getMaskingDescriptor" && typeof value === "function") {
      const hook = value;
      value = function (params) { calls.push(params && params.agents ? params.agents.count : null);
                                  return hook.apply(this, arguments); };
    }
    t[key] = value; return true; } });
})();
"""


def regions(stack: Stack) -> None:
    for username, role in (("ne-region", "Northeast Region"), ("sw-region", "Southwest Region")):
        done = stack.cli(
            "agent", "create", "--username", username, "--group", "1", "--agentrole", role,
            "--password", PASSWORD, check=False,
        )  # fmt: skip
        assert done.returncode == 0 or "exists" in (done.stderr + done.stdout).lower(), done.stderr


def start(visitor: Page, stack: Stack, key: str, wait_for: Wait) -> None:
    visitor.add_init_script(SPY)
    visitor.goto(f"{stack.site}/masking-spec-roles.html")
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate("(key) => GLANCE.Cobrowse.Visitor.startSession(key)", key)
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true")


def join(console: Page, key: str) -> dict[str, Any]:
    result: dict[str, Any] = console.evaluate(
        """async (key) => { try { await CobrowseAgent.join(key); return {joined: true}; }
                            catch (err) { return {joined: false, code: err.code}; } }""",
        key,
    )
    return result


def replay_has(console: Page, wait_for: Wait, element_id: str, text: str) -> None:
    wait_for(
        console,
        "([id, text]) => { const f = CobrowseAgent.replayFrame(); const d = f && f.contentDocument;"
        " const e = d && d.getElementById(id); return !!e && e.textContent.includes(text); }",
        arg=[element_id, text],
    )


def test_mixing_not_allowed_refuses_the_second_role(
    stack: Stack, visitor: Page, agent: AgentFactory, wait_for: Wait
) -> None:
    regions(stack)
    stack.cli("group", "settings", "--id", "1", "--mixed-roles", "no")
    start(visitor, stack, "regions-apart", wait_for)
    northeast = agent("ne-region", PASSWORD)
    assert join(northeast, "regions-apart") == {"joined": True}
    replay_has(northeast, wait_for, "ne", "NORTHEAST_ONLY_TEXT")
    southwest = agent("sw-region", PASSWORD)
    assert join(southwest, "regions-apart") == {"joined": False, "code": "accessdenied"}
    wait_for(visitor, "window.__hookAgents.includes(1)")
    assert 2 not in visitor.evaluate("window.__hookAgents")
    html = northeast.evaluate("CobrowseAgent.replayFrame().contentDocument.documentElement.outerHTML")
    assert "SECRET_SOUTHWEST_TEXT" not in html


def test_mixing_allowed_recomputes_the_rules_on_join(
    stack: Stack, visitor: Page, agent: AgentFactory, wait_for: Wait
) -> None:
    regions(stack)
    stack.cli("group", "settings", "--id", "1", "--mixed-roles", "yes")
    try:
        start(visitor, stack, "regions-mixed", wait_for)
        southwest = agent("sw-region", PASSWORD)
        assert join(southwest, "regions-mixed") == {"joined": True}
        replay_has(southwest, wait_for, "sw", "SECRET_SOUTHWEST_TEXT")  # the first agent's region is shown
        northeast = agent("ne-region", PASSWORD)
        assert join(northeast, "regions-mixed") == {"joined": True}
        # the hook ran again with both agents; its rules follow agentlist[0], the first agent's role
        wait_for(visitor, "window.__hookAgents.includes(2)")
        assert visitor.evaluate("window.__hookAgents")[0] is None  # session start: no agents yet
        replay_has(northeast, wait_for, "sw", "SECRET_SOUTHWEST_TEXT")
        html = northeast.evaluate("CobrowseAgent.replayFrame().contentDocument.documentElement.outerHTML")
        assert "NORTHEAST_ONLY_TEXT" not in html
    finally:
        stack.cli("group", "settings", "--id", "1", "--mixed-roles", "no")
