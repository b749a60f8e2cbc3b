"""Cross-domain continuation: one-time tokens that carry a session to a page of a trusted domain.

No third-party cookies: the visitor's page asks its socket for a token for the destination's origin
(``xdomain``); the server checks the origin against the group's trust list and hands out a random token, kept
here only as its SHA-256 hash, bound to the session and that origin, usable once within
``XDOMAIN_TOKEN_SECONDS``. The SDK puts it in the destination URL's fragment (``#glance_xd=``, which never
reaches a web server or a Referer header); the destination page presents it as its socket's first message
(``xredeem``) from the destination origin (the browser's Origin header, which a page cannot forge) and gets
the session's call id and resume token for its own first-party cookie. An origin not on the list gets no
token, and a token presented from any other origin is refused.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..permissions import normalise_origin, origin_allowed
from ..protocol.codec import CloseCode, ProtocolError
from ..protocol.messages import XDOMAIN_TOKEN_SECONDS

#: Tokens outstanding at once on this node, and per session.
MAX_TOKENS = 10_000
MAX_TOKENS_PER_SESSION = 20


@dataclass(frozen=True)
class Handoff:
    session_id: int
    origin: str
    expires_at: float


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def destination_origin(url: str) -> str:
    """The origin of an absolute http(s) URL; ValueError (with the rule) for anything else."""
    parts = urlsplit(url.strip() if isinstance(url, str) else "")
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        raise ValueError("the destination must be an absolute http or https URL")
    return normalise_origin(f"{parts.scheme}://{parts.netloc}")


def trusted(trust_list: Sequence[str], origin: str) -> bool:
    """Whether ``origin`` is on the group's trust list (an empty list trusts nobody)."""
    return bool(trust_list) and origin_allowed(trust_list, origin)


def session_of_token(token: str) -> int | None:
    """The session a cross-domain (or guest) token names: the digits before its first dot."""
    head, dot, _ = token.partition(".")
    return int(head) if dot and head.isdigit() and len(head) <= 18 else None


class Handoffs:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._by_hash: dict[str, Handoff] = {}

    def issue(self, session_id: int, origin: str) -> str:
        """A new token for ``session_id`` on ``origin`` (the only time it exists in clear); OverflowError
        when too many are outstanding (for the node or this session)."""
        now = self.clock()
        if len(self._by_hash) >= MAX_TOKENS or self._count(session_id) >= MAX_TOKENS_PER_SESSION:
            self._by_hash = {h: x for h, x in self._by_hash.items() if x.expires_at > now}
        if len(self._by_hash) >= MAX_TOKENS or self._count(session_id) >= MAX_TOKENS_PER_SESSION:
            raise OverflowError("too many cross-domain tokens are waiting; try again in a minute")
        # prefixed with the session id: whichever node the destination page reaches finds the session's
        # home node, the only one that knows the token (see cluster.py)
        token = f"{session_id}.{secrets.token_urlsafe(24)}"
        self._by_hash[_hash(token)] = Handoff(session_id, origin, now + XDOMAIN_TOKEN_SECONDS)
        return token

    def redeem(self, token: str, origin: str | None) -> Handoff:
        """Spend a token presented by a page of ``origin``; ``badtoken`` (4403) if it is unknown, spent,
        expired or meant for another origin (it is spent all the same: a token is tried once)."""
        handoff = self._by_hash.pop(_hash(token), None) if isinstance(token, str) and token else None
        if handoff is None:
            raise ProtocolError(
                CloseCode.FORBIDDEN, "badtoken", "this cross-domain link is not valid or was used"
            )
        if handoff.expires_at <= self.clock():
            raise ProtocolError(CloseCode.FORBIDDEN, "badtoken", "this cross-domain link has expired")
        try:
            have = normalise_origin(origin or "")
        except ValueError:
            have = ""
        if have != handoff.origin:
            raise ProtocolError(
                CloseCode.FORBIDDEN,
                "badtoken",
                f"this cross-domain link is for {handoff.origin}, not {origin}",
            )
        return handoff

    def drop_session(self, session_id: int) -> None:
        self._by_hash = {h: x for h, x in self._by_hash.items() if x.session_id != session_id}

    def _count(self, session_id: int) -> int:
        return sum(1 for x in self._by_hash.values() if x.session_id == session_id)
