"""Signed login keys: single sign-on from a partner's own system (docs/sso.md).

A partner's server signs ``partnerid``, ``partneruserid`` and an expiry (Unix seconds) with the group's
secret (``cobrowse group sso-secret``) and sends the agent's browser to
``/agent/sso?groupid=G&partnerid=P&partneruserid=U&expires=E&signature=S``, where S is the lowercase hex
HMAC-SHA256 of ``P + "\\n" + U + "\\n" + E`` under the secret. The server logs in the agent of group G with
that partnerid and partneruserid. A key is good once, until it expires, at most ``MAX_LIFETIME`` ahead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

#: Longest time a key may be valid for: a key in a URL ends up in logs and browser history.
MAX_LIFETIME = 3600
_HEX64 = re.compile(r"[0-9a-f]{64}")


class LoginKeyError(ValueError):
    """A login key that is refused; the message says why (shown to the person trying to sign in)."""


@dataclass(frozen=True)
class LoginKey:
    group_id: int
    partnerid: str
    partneruserid: str
    expires: int
    signature: str

    @property
    def digest(self) -> str:
        """What is remembered of a used key (its signature, hashed) until it expires."""
        return hashlib.sha256(self.signature.encode()).hexdigest()


def message(partnerid: str, partneruserid: str, expires: int) -> bytes:
    return f"{partnerid}\n{partneruserid}\n{expires}".encode()


def sign(secret: str, partnerid: str, partneruserid: str, expires: int) -> str:
    return hmac.new(secret.encode(), message(partnerid, partneruserid, expires), hashlib.sha256).hexdigest()


def parse(params: dict[str, str]) -> LoginKey:
    """The key in the query parameters, checked for shape only (not yet for its signature)."""
    missing = [
        k for k in ("groupid", "partnerid", "partneruserid", "expires", "signature") if not params.get(k)
    ]
    if missing:
        raise LoginKeyError(f"the login key is incomplete: {', '.join(missing)} missing")
    try:
        group_id, expires = int(params["groupid"]), int(params["expires"])
    except ValueError:
        raise LoginKeyError("groupid and expires must be whole numbers") from None
    partnerid, partneruserid = params["partnerid"], params["partneruserid"]
    if any("\n" in v or len(v) > 127 for v in (partnerid, partneruserid)):
        raise LoginKeyError("partnerid and partneruserid are single lines of at most 127 characters")
    signature = params["signature"].lower()
    if not _HEX64.fullmatch(signature):
        raise LoginKeyError("the signature must be 64 hexadecimal digits (HMAC-SHA256)")
    return LoginKey(group_id, partnerid, partneruserid, expires, signature)


def verify(key: LoginKey, secret: str | None, now: float) -> None:
    """Raise :class:`LoginKeyError` unless ``key`` is signed with ``secret`` and valid at ``now``."""
    if not secret:
        raise LoginKeyError(f"single sign-on is not set up for group {key.group_id}")
    expected = sign(secret, key.partnerid, key.partneruserid, key.expires)
    if not hmac.compare_digest(expected, key.signature):
        raise LoginKeyError("the login key's signature is wrong (signed with another secret or altered)")
    if key.expires <= now:
        raise LoginKeyError("the login key has expired; get a new one from your system")
    if key.expires > now + MAX_LIFETIME:
        raise LoginKeyError(f"the login key is valid for too long: at most {MAX_LIFETIME} seconds ahead")
