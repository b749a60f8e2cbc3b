"""Wire protocol v1: every message type, defined once for the server.

The browser-side twin is ``web/shared/protocol.ts``; ``docs/protocol.md`` is the prose. Messages are msgspec
structs tagged by ``t``. ``Events.data`` is ``msgspec.Raw``: the server checks the envelope of a page-event
frame and forwards the visitor's bytes untouched, never decoding or re-encoding the rrweb payload.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

PROTOCOL_VERSION = 1

KEY_PATTERN = re.compile(r"[A-Za-z0-9_~-]{1,100}")
KEY_RULE = "a session key is 1 to 100 characters, each a letter, a digit, '_', '-' or '~'"
RANDOM_KEY = "GLANCE_KEYTYPE_RANDOM"

EndReason = Literal["agent", "visitor", "error", "timeout"]


class Message(msgspec.Struct, tag_field="t", forbid_unknown_fields=False, omit_defaults=False):
    """Base of every wire message: ``v`` is the protocol version."""

    v: int = PROTOCOL_VERSION


class PageInfo(msgspec.Struct):
    url: str = ""
    title: str = ""


class VisitorInfo(msgspec.Struct):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    visitorid: str | None = None


class AgentEntry(msgspec.Struct, omit_defaults=True):
    name: str
    role: Literal["agent", "guest"]
    num: int
    username: str | None = None
    title: str = ""
    agentrole: str | None = None
    partnerid: str | None = None
    partneruserid: str | None = None
    guestid: int | None = None


# --- page events (both directions: visitor -> server -> agents, same bytes) ---


class Events(Message, tag="events"):
    seq: int = 0
    epoch: int = 0
    snapshot: bool = False
    #: A snapshot frame of a masked page: ``data`` holds nothing of the page; the console shows a panel.
    masked: bool = False
    data: msgspec.Raw = msgspec.Raw(b"[]")


class MaskingPages(msgspec.Struct):
    """Page masking by URL: glob patterns (``*`` any run of characters) matched against the full URL."""

    allow: list[str] = msgspec.field(default_factory=list)
    deny: list[str] = msgspec.field(default_factory=list)


class MaskingConfig(msgspec.Struct):
    """The group's masking rules, sent to the visitor at every start and page load."""

    selectors: list[str] = msgspec.field(default_factory=list)
    pages: MaskingPages = msgspec.field(default_factory=MaskingPages)


class PauseState(msgspec.Struct):
    pause: bool = False
    message: str | None = None


class RcState(msgspec.Struct):
    """Remote control of the session: ``enabled`` by the visitor (accept or ``enableRC``), ``suspended`` for a
    moment while the visitor uses their own mouse or keyboard."""

    enabled: bool = False
    suspended: bool = False


# --- visitor -> server ---


class Start(Message, tag="start"):
    group: int = 0
    key: str | None = None
    visitor: VisitorInfo = msgspec.field(default_factory=VisitorInfo)
    page: PageInfo = msgspec.field(default_factory=PageInfo)


class Resume(Message, tag="resume"):
    session: int = 0
    token: str = ""
    page: PageInfo = msgspec.field(default_factory=PageInfo)


class Page(Message, tag="page"):
    url: str = ""
    title: str = ""


class Stop(Message, tag="stop"):
    pass


class SessionMessage(Message, tag="message"):
    """A named session message (``sendSessionMessage``), visitor to agents or agent to visitor."""

    name: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


class UserState(Message, tag="userstate"):
    """``setUserState(name, data)``: kept on the server for the session's life."""

    name: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


class Pause(Message, tag="pause"):
    """``pauseSession``: while paused nothing of the page is sent; ``message`` is HTML the console sanitises."""

    pause: bool = False
    message: str | None = None


class Rc(Message, tag="rc"):
    """Remote control turned on or off (or suspended). From the visitor: its consent (``declined`` answers a
    request with no). From the server: the session's state, to the agents (and to the visitor when an agent
    released control)."""

    enabled: bool = False
    suspended: bool = False
    declined: bool = False


class Focus(Message, tag="focus"):
    """This page got (``focused``) or lost the visitor's attention: window focus and tab visibility. With
    several tabs in session the server shows agents the one focused last."""

    focused: bool = False


class XDomain(Message, tag="xdomain"):
    """Ask for a one-time token to continue the session at ``url``, whose origin must be on the group's
    trust list; answered by ``xdomain_token`` or ``xdomain_refused`` with the same ``id``."""

    id: int = 0
    url: str = ""


class XRedeem(Message, tag="xredeem"):
    """First message of a page of a trusted domain opened with a cross-domain token (``#glance_xd=``):
    answered with ``xredeemed`` (the session to resume), then the socket closes."""

    token: str = ""


VisitorMessage = (
    Start
    | Resume
    | Events
    | Page
    | Stop
    | SessionMessage
    | UserState
    | Pause
    | Rc
    | Focus
    | XDomain
    | XRedeem
)

# --- server -> visitor ---


class Started(Message, tag="started"):
    session: int = 0
    key: str = ""
    random: bool = False
    token: str = ""
    epoch: int = 0
    seq: int = 0
    masking: MaskingConfig = msgspec.field(default_factory=MaskingConfig)
    userstate: dict[str, msgspec.Raw] = msgspec.field(default_factory=dict)
    rc: RcState = msgspec.field(default_factory=RcState)
    #: The group's trusted origins: links to them carry the session (cross-domain).
    xdomains: list[str] = msgspec.field(default_factory=list)


class Resumed(Message, tag="resumed"):
    session: int = 0
    key: str = ""
    random: bool = False
    token: str = ""
    epoch: int = 0
    seq: int = 0
    masking: MaskingConfig = msgspec.field(default_factory=MaskingConfig)
    userstate: dict[str, msgspec.Raw] = msgspec.field(default_factory=dict)
    rc: RcState = msgspec.field(default_factory=RcState)
    xdomains: list[str] = msgspec.field(default_factory=list)


class TabState(Message, tag="tab"):
    """Whether this page carries the session: the active tab records (continuing at ``epoch`` + 1 and
    ``seq`` + 1 with a full snapshot); the others record nothing until the visitor comes back to them."""

    active: bool = False
    epoch: int = 0
    seq: int = 0


#: How long a cross-domain token may wait to be redeemed (seconds).
XDOMAIN_TOKEN_SECONDS = 60


class XDomainToken(Message, tag="xdomain_token"):
    id: int = 0
    origin: str = ""
    token: str = ""
    expires_in: int = XDOMAIN_TOKEN_SECONDS


class XDomainRefused(Message, tag="xdomain_refused"):
    id: int = 0
    origin: str = ""
    reason: str = ""


class XRedeemed(Message, tag="xredeemed"):
    """The session a cross-domain token continues: what the page writes to its own session cookie."""

    session: int = 0
    key: str = ""
    random: bool = False
    token: str = ""
    group: int = 0


class XDomainDone(Message, tag="xdomain_done"):
    """To the session's pages: a cross-domain token was redeemed by a page of ``origin``."""

    origin: str = ""


class Agents(Message, tag="agents"):
    count: int = 0
    agentlist: list[AgentEntry] = msgspec.field(default_factory=list)


class SnapshotRequest(Message, tag="snapshot_request"):
    pass


#: Largest session message or user state value, and the longest names (docs/protocol.md).
MAX_MESSAGE_DATA = 64 * 1024
MAX_NAME = 100
MAX_USER_STATES = 100
MAX_PAUSE_MESSAGE = 16 * 1024


class Ended(Message, tag="ended"):
    reason: str = "error"


class Error(Message, tag="error"):
    code: str = "service"
    msg: str = ""


# --- agent -> server ---


class Join(Message, tag="join"):
    key: str = ""
    group: int | None = None


class Resync(Message, tag="resync"):
    pass


class Leave(Message, tag="leave"):
    pass


class End(Message, tag="end"):
    pass


class GuestJoin(Message, tag="guestjoin"):
    """A guest's hello on ``/ws/agent`` instead of ``join``: the invitation token and the name to show."""

    token: str = ""
    name: str = ""


class Admit(Message, tag="admit"):
    """An agent admits (``accept``) or declines a waiting guest."""

    guestid: int = 0
    accept: bool = False


#: Longest guest name (characters).
MAX_GUEST_NAME = 100


class RcRequest(Message, tag="rc_request"):
    """An agent (with ``remote_control``) asks for control. Forwarded to the visitor with the asking agent's
    ``num`` and ``name`` filled in by the server."""

    num: int = 0
    name: str = ""


class RcRelease(Message, tag="rc_release"):
    """An agent gives control back: remote control is off for the session until the visitor enables it again."""


ControlOp = Literal["move", "click", "dblclick", "focus", "key", "text", "select", "scroll", "selecttext"]

#: Longest ``text`` of a control command (characters) and longest key name.
MAX_CONTROL_TEXT = 64 * 1024
MAX_KEY_NAME = 32
#: Largest scroll step of one command (CSS pixels, each axis).
MAX_SCROLL_DELTA = 100_000.0


class Control(Message, tag="control"):
    """One remote-control command, agent -> server -> visitor (docs/protocol.md "Remote control").

    ``id`` is an rrweb node id of recording ``epoch`` (0: the document for ``scroll``, the focused element for
    ``key`` and ``text``); ``x`` / ``y`` place the pointer inside that node as fractions of its box. The server
    forwards it only while control is enabled and only from agents holding ``remote_control``, and sets
    ``agent`` to the sender's ``num``; the visitor's page checks everything again before it acts."""

    op: ControlOp = "move"
    epoch: int = 0
    id: int = 0
    x: float = 0.5
    y: float = 0.5
    #: ``key``: a ``KeyboardEvent.key`` value (``"a"``, ``"Enter"``, ``"Tab"``, ``"ArrowDown"`` ...).
    key: str = ""
    shift: bool = False
    ctrl: bool = False
    alt: bool = False
    meta: bool = False
    #: ``text``: characters to insert at the caret; ``select``: the chosen option's value.
    text: str = ""
    #: ``select``: the chosen option's index.
    index: int = -1
    #: ``scroll``: pixels to scroll by.
    dx: float = 0.0
    dy: float = 0.0
    #: ``selecttext``: the selection runs from (``id``, ``offset``) to (``end_id``, ``end_offset``).
    offset: int = 0
    end_id: int = 0
    end_offset: int = 0
    #: Set by the server: the ``num`` of the agent that sent it.
    agent: int = 0


AgentMessage = (
    Join | Resync | Leave | End | SessionMessage | GuestJoin | Admit | RcRequest | RcRelease | Control
)

# --- server -> agent ---


class Joined(Message, tag="joined"):
    session: int = 0
    key: str = ""
    group: int = 0
    visitor: VisitorInfo = msgspec.field(default_factory=VisitorInfo)
    page: PageInfo | None = None
    visitor_connected: bool = False
    #: The visitor's pages in session (tabs); the one shown is the one focused last.
    visitor_tabs: int = 0
    agents: Agents = msgspec.field(default_factory=Agents)
    epoch: int = 0
    seq: int = 0
    pause: PauseState = msgspec.field(default_factory=PauseState)
    rc: RcState = msgspec.field(default_factory=RcState)


class VisitorStatus(Message, tag="visitor"):
    connected: bool = False
    #: The visitor's pages in session (tabs); the one shown is the one focused last.
    tabs: int = 0


class GuestRequest(Message, tag="guest_request"):
    """To agents: a guest waits to be admitted."""

    guestid: int = 0
    name: str = ""


class GuestAnswered(Message, tag="guest_answered"):
    """To agents: a waiting guest was admitted, declined, or left (``accept`` false)."""

    guestid: int = 0
    accept: bool = False


class AddGuestAccepted(Message, tag="addguestaccepted"):
    """To the guest: admitted; ``joined``, the log and the live stream follow."""

    guestid: int = 0


class AddGuestDeclined(Message, tag="addguestdeclined"):
    """To the guest: declined; the socket closes."""

    guestid: int = 0
