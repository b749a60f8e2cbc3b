"""Guest invitations: single-use, expiring links into one live session.

An agent with ``invite_guests`` creates one (REST ``POST /api/v1/sessions/{id}/guests``); the link carries a
random token that is shown once and kept here only as its SHA-256 hash, so a leaked memory dump or log of
this table lets no one in. The token is spent when a guest presents it (admitted or not), so a link works
once. Invitations live in this node's memory with their session (a live session lives on one node); the
table is bounded: past ``MAX_INVITATIONS`` the expired ones are dropped, and if none are, creating one fails.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..protocol.codec import CloseCode, ProtocolError

#: Default life of an invitation link, seconds.
INVITATION_TTL = 15 * 60
MAX_INVITATIONS = 10_000


@dataclass(frozen=True)
class Invitation:
    session_id: int
    agent_id: int
    expires_at: float  # wall clock (time.time), for the REST answer


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class Invitations:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._by_hash: dict[str, Invitation] = {}

    def create(self, session_id: int, agent_id: int, ttl: float = INVITATION_TTL) -> tuple[str, Invitation]:
        """A new invitation and its token (the only time the token exists in clear)."""
        now = self.clock()
        if len(self._by_hash) >= MAX_INVITATIONS:
            self._by_hash = {h: i for h, i in self._by_hash.items() if i.expires_at > now}
            if len(self._by_hash) >= MAX_INVITATIONS:
                raise OverflowError("too many open guest invitations; try again later")
        token = f"{session_id}.{secrets.token_urlsafe(24)}"  # the session first: see cluster.py
        invitation = Invitation(session_id, agent_id, now + ttl)
        self._by_hash[_hash(token)] = invitation
        return token, invitation

    def peek(self, token: str) -> Invitation | None:
        """The invitation a token names if it is still usable (not spent, not expired); does not spend it."""
        invitation = self._by_hash.get(_hash(token))
        if invitation is None or invitation.expires_at <= self.clock():
            return None
        return invitation

    def spend(self, token: str) -> Invitation:
        """Use a token once; ``badinvite`` (4403) if it is unknown, already used or expired."""
        invitation = self._by_hash.pop(_hash(token), None)
        if invitation is None:
            raise ProtocolError(
                CloseCode.FORBIDDEN, "badinvite", "this guest link is not valid or has already been used"
            )
        if invitation.expires_at <= self.clock():
            raise ProtocolError(CloseCode.FORBIDDEN, "badinvite", "this guest link has expired")
        return invitation

    def drop_session(self, session_id: int) -> None:
        self._by_hash = {h: i for h, i in self._by_hash.items() if i.session_id != session_id}
