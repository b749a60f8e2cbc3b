"""The authorisation rules without a server: actions x callers, the role policy, visitor origins."""

from __future__ import annotations

import pytest

from cobrowse.permissions import (
    Action,
    check,
    check_permissions,
    normalise_origin,
    origin_allowed,
    role_refusal,
)
from cobrowse.store.records import Agent


def agent(groups: tuple[int, ...] = (1,), permissions: tuple[str, ...] = ("view",), **kw: object) -> Agent:
    return Agent(
        id=1,
        username="a",
        name="A",
        title="",
        agentrole=None,
        partnerid=None,
        partneruserid=None,
        group_ids=groups,
        is_admin="admin" in permissions,
        permissions=permissions,
    )


@pytest.mark.parametrize("action", list(Action))
def test_anonymous_may_do_nothing(action: Action) -> None:
    refusal = check(None, action, 1)
    assert refusal is not None and refusal.status == 401


@pytest.mark.parametrize("action", list(Action))
def test_an_agent_of_another_group_may_do_nothing_there(action: Action) -> None:
    everything = ("view", "invite_guests", "admin")
    refusal = check(agent(groups=(2,), permissions=everything), action, 1)
    assert refusal is not None and refusal.status == 404


@pytest.mark.parametrize(
    ("permissions", "allowed"),
    [
        ((), set()),
        (("view",), {Action.JOIN, Action.WATCH, Action.MESSAGE, Action.END}),
        (("view", "invite_guests"), {Action.JOIN, Action.WATCH, Action.MESSAGE, Action.END, Action.INVITE}),
        (("admin",), {Action.MANAGE}),
    ],
)
def test_each_action_needs_its_permission(permissions: tuple[str, ...], allowed: set[Action]) -> None:
    member = agent(permissions=permissions)
    assert {a for a in Action if check(member, a, 1) is None} == allowed
    for action in set(Action) - allowed:
        refusal = check(member, action, 1)
        assert refusal is not None and refusal.code == "accessdenied" and refusal.status == 403


def test_permission_names_are_checked() -> None:
    assert check_permissions(["admin", "view", "view"]) == ("view", "admin")
    with pytest.raises(ValueError, match="unknown permission 'fly'"):
        check_permissions(["fly"])


def test_role_policy_without_mixing() -> None:
    assert role_refusal("sales", [], allow_mixed=False) is None
    assert role_refusal("sales", ["sales", "sales"], allow_mixed=False) is None
    refusal = role_refusal("support", ["sales"], allow_mixed=False)
    assert refusal is not None and refusal.code == "accessdenied" and "'sales'" in refusal.msg
    # an agent without a role joins only sessions of agents without a role, and the other way round
    assert role_refusal(None, [None], allow_mixed=False) is None
    assert role_refusal(None, ["sales"], allow_mixed=False) is not None
    assert role_refusal("sales", [None], allow_mixed=False) is not None


def test_role_policy_with_mixing() -> None:
    assert role_refusal("support", ["sales", None], allow_mixed=True) is None
    assert role_refusal(None, ["sales"], allow_mixed=True) is None


def test_origins() -> None:
    assert normalise_origin("HTTPS://Shop.Example:443/") == "https://shop.example"
    assert normalise_origin("http://a.localhost:8001") == "http://a.localhost:8001"
    assert normalise_origin("https://*.shop.example") == "https://*.shop.example"
    for bad in ("shop.example", "https://shop.example/path", "ftp://x", "https://u@x", "https://x:99999"):
        with pytest.raises(ValueError, match="invalid origin"):
            normalise_origin(bad)
    allowed = ["https://shop.example", "https://*.help.example"]
    assert origin_allowed([], None) and origin_allowed([], "https://any.where")
    assert origin_allowed(allowed, "https://shop.example")
    assert origin_allowed(allowed, "https://eu.help.example")
    assert not origin_allowed(allowed, "https://help.example")
    assert not origin_allowed(allowed, "http://shop.example")
    assert not origin_allowed(allowed, "https://shop.example.evil.io")
    assert not origin_allowed(allowed, None)
    assert not origin_allowed(allowed, "null")


@pytest.mark.parametrize("action", list(Action))
def test_a_guest_only_watches(action: Action) -> None:
    from cobrowse.permissions import check_guest

    refusal = check_guest(action)
    if action is Action.WATCH:
        assert refusal is None
    else:
        assert refusal is not None and refusal.code == "accessdenied" and refusal.status == 403
