"""Validation rules of the visitor API that both the server and the SDK enforce.

The SDK checks first so that a site gets a thrown error at once; the server checks again because a visitor
page is untrusted. Each function raises :class:`RuleError` whose ``code`` is the wire error code and whose
message names the rule that was broken.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from .messages import KEY_PATTERN, KEY_RULE, PageInfo, VisitorInfo

#: Longest page URL and title kept; longer values are cut (a page's title is not worth refusing a session).
MAX_URL = 4096
MAX_TITLE = 512


class RuleError(ValueError):
    """Input the visitor API refuses; ``code`` is the ``error.code`` sent on the wire."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid session key, else raise ``RuleError('badkey')``."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        shown = key if isinstance(key, str) and len(key) <= 40 else f"{str(key)[:40]}..."
        raise RuleError("badkey", f"invalid session key {shown!r}: {KEY_RULE}")
    return key


def _latin1(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise RuleError(
            "invalidparams", f"visitor {field} is {len(value)} characters; at most {limit} allowed"
        )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise RuleError("invalidparams", f"visitor {field} must be Latin-1 (ISO/IEC 8859-1) text") from exc


def check_visitor(info: VisitorInfo) -> VisitorInfo:
    """Validate the visitor fields to the lengths the visitor API gives (name 63, email 127, phone 31)."""
    if info.name is not None and len(info.name) > 63:
        raise RuleError("invalidparams", f"visitor name is {len(info.name)} characters; at most 63 allowed")
    if info.email is not None:
        _latin1("email", info.email, 127)
    if info.phone is not None:
        _latin1("phone", info.phone, 31)
    if info.visitorid is not None:
        try:
            check_key(info.visitorid)
        except RuleError as exc:
            raise RuleError(
                "invalidparams", f"visitorid must follow the session key rules: {KEY_RULE}"
            ) from exc
    return info


def clean_page(page: PageInfo) -> PageInfo:
    """Cut an over-long URL or title to the documented limits."""
    return PageInfo(url=page.url[:MAX_URL], title=page.title[:MAX_TITLE])


def random_key(taken: object, attempt: int) -> str:
    """A short numeric key readable over the phone: 4 digits, one more digit every 20 failed attempts."""
    digits = 4 + attempt // 20
    low = 10 ** (digits - 1)
    return str(low + secrets.randbelow(9 * low))


def resume_token(secret: str, session_id: int) -> str:
    """The token that lets the visitor's next page continue ``session_id`` (kept in the site's cookie)."""
    mac = hmac.new(secret.encode(), f"visitor-resume:{session_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")


def check_resume_token(secret: str, session_id: int, token: str) -> bool:
    return hmac.compare_digest(resume_token(secret, session_id), token)
