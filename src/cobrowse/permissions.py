"""Who may do what: the authorisation rules of the server, as pure functions (no I/O, no sockets).

Every endpoint asks here before it acts, so the rules are the same over REST and the WebSocket and are
tested without a server (tests/test_permissions.py). An agent's permissions are names:

- ``view``: join and watch the sessions of its groups, send session messages, end them;
- ``remote_control``: ask the visitor for control of their page, and click and type on it once allowed;
- ``video``, ``documents``: kept for the features that need them (not built yet);
- ``invite_guests``: invite a guest into a session it is in;
- ``admin``: manage agents, group settings and the audit log of its groups (the ``is_admin`` flag).

Membership always counts too: an agent acts only on sessions and groups of its own groups. A visitor or an
anonymous caller has no agent and may do none of these (a visitor ends only its own session, on its socket).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # not at run time: the store imports this module
    from .store.records import Agent

PERMISSIONS = ("view", "remote_control", "video", "documents", "invite_guests", "admin")


class Action(enum.Enum):
    JOIN = "join"  # take a seat in a live session (agent socket)
    WATCH = "watch"  # see a session or the list of live sessions (REST)
    MESSAGE = "message"  # send a session message to the visitor
    INVITE = "invite"  # invite a guest
    END = "end"  # end a session for everyone
    CONTROL = "control"  # ask for remote control and send control commands
    MANAGE = "manage"  # agents, group settings, audit log


#: The permission each action needs, besides membership of the session's group.
NEEDS = {
    Action.JOIN: "view",
    Action.WATCH: "view",
    Action.MESSAGE: "view",
    Action.INVITE: "invite_guests",
    Action.END: "view",
    Action.CONTROL: "remote_control",
    Action.MANAGE: "admin",
}


@dataclass(frozen=True)
class Refusal:
    """Why an action is refused: ``status`` for REST, ``code`` for the wire (docs/protocol.md)."""

    status: int
    code: str
    msg: str


def check(agent: Agent | None, action: Action, group_id: int | None) -> Refusal | None:
    """None if ``agent`` may do ``action`` in group ``group_id``; otherwise why not.

    ``group_id`` None means "some group of the agent's" (listing, or a join that names no group).
    """
    if agent is None:
        return Refusal(401, "unauthenticated", "log in to the agent console or send an API token first")
    if group_id is not None and group_id not in agent.group_ids:
        return Refusal(404, "forbidden", f"group {group_id} is not one of your groups")
    needed = NEEDS[action]
    if not agent.has(needed):
        return Refusal(403, "accessdenied", f"{action.value} needs the {needed!r} permission")
    return None


#: What an admitted guest may do in the one session it was invited to: watch it, nothing more.
GUEST_MAY = frozenset({Action.WATCH})


def check_guest(action: Action) -> Refusal | None:
    """None if a guest may do ``action`` in its session; guests never end, message, invite or manage."""
    if action in GUEST_MAY:
        return None
    return Refusal(403, "accessdenied", f"a guest may not {action.value}: only agents may")


def check_permissions(names: Iterable[str]) -> tuple[str, ...]:
    """Validate permission names (ValueError names the unknown one); canonical order, no duplicates."""
    wanted = set()
    for name in names:
        if name not in PERMISSIONS:
            raise ValueError(f"unknown permission {name!r}: one of {', '.join(PERMISSIONS)}")
        wanted.add(name)
    return tuple(p for p in PERMISSIONS if p in wanted)


def role_refusal(role: str | None, seated: Sequence[str | None], allow_mixed: bool) -> Refusal | None:
    """The group's role policy for an agent with ``role`` joining a session where ``seated`` roles sit.

    With mixing allowed anyone may join. Without it, every seated agent must have the same role as the
    joining one; an agent with no role joins only sessions whose agents have no role either. Guests are
    not agents and are not counted (they are admitted regardless of roles).
    """
    if allow_mixed:
        return None
    others = {r for r in seated if r != role}
    if not others:
        return None
    mine = f"role {role!r}" if role else "no role"
    theirs = ", ".join(sorted(repr(r) if r else "no role" for r in others))
    return Refusal(
        403,
        "accessdenied",
        f"agents of different roles may not share a session in this group: you have {mine}, "
        f"the session has {theirs}",
    )


# --- visitor origins ---


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case, default port dropped; ``*.`` may start the host.

    ValueError for anything else (a path, a missing scheme), with the rule in the message.
    """
    text = value.strip() if isinstance(value, str) else ""
    parts = urlsplit(text)
    wildcard = parts.netloc.startswith("*.")
    netloc = parts.netloc[2:] if wildcard else parts.netloc
    try:
        port = urlsplit(f"{parts.scheme}://{netloc}").port
    except ValueError:
        port = -1
    if (
        parts.scheme.lower() not in ("http", "https")
        or not netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "@" in netloc
        or port == -1
    ):
        raise ValueError(
            f"invalid origin {value!r}: an origin is http(s)://host[:port], optionally https://*.domain"
        )
    scheme = parts.scheme.lower()
    host = urlsplit(f"{scheme}://{netloc}").hostname or ""
    default = {"http": 80, "https": 443}[scheme]
    port_part = f":{port}" if port is not None and port != default else ""
    return f"{scheme}://{'*.' if wildcard else ''}{host}{port_part}"


def origin_allowed(allowed: Sequence[str], origin: str | None) -> bool:
    """Whether a visitor page of ``origin`` may use the group; an empty ``allowed`` list allows any origin.

    A page without an Origin header (not a browser) is refused when the list is not empty.
    """
    if not allowed:
        return True
    if not origin:
        return False
    try:
        have = normalise_origin(origin)
    except ValueError:
        return False
    scheme, _, host = have.partition("://")
    for pattern in allowed:
        if pattern == have:
            return True
        p_scheme, _, p_host = pattern.partition("://")
        if p_host.startswith("*.") and p_scheme == scheme and host.endswith(p_host[1:]):
            return True
    return False
