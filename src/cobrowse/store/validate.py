"""Input rules of the store; each check raises ValueError with a message naming the rule.

The store is the last line before the database: the command line and the REST API hand it user input, and
the visitor endpoint hands it visitor fields (already checked there by :mod:`cobrowse.protocol.rules`, and
checked again here so that no database is ever asked to truncate or refuse a value).
"""

from __future__ import annotations

import re
from datetime import datetime

from cobrowse.protocol.messages import KEY_PATTERN, KEY_RULE

from .records import VisitorFields

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,127}")
USERNAME_RULE = "a username is 1 to 127 characters, each a letter, a digit, '.', '_', '@' or '-'"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 would take any length; this bounds the work a request can ask for
MAX_GROUP_ID = 2**31 - 1
MAX_TEXT = 127  # agent name, title, partner ids; group name
MAX_AGENTROLE = 63
MAX_END_REASON = 32


def username(value: str) -> str:
    if not isinstance(value, str) or not USERNAME_PATTERN.fullmatch(value):
        raise ValueError(f"invalid username {value!r}: {USERNAME_RULE}")
    return value


def password(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("the password is empty")
    if len(value) < MIN_PASSWORD:
        raise ValueError(f"the password is too short: at least {MIN_PASSWORD} characters")
    if len(value) > MAX_PASSWORD:
        raise ValueError(f"the password is too long: at most {MAX_PASSWORD} characters")
    return value


def group_id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GROUP_ID:
        raise ValueError(f"invalid group id {value!r}: a whole number from 1 to {MAX_GROUP_ID}")
    return value


def is_row_id(value: object) -> bool:
    """Whether ``value`` can be a row id; lookups of other values (untrusted input) find nothing, not an error.

    Ids are 32-bit on PostgreSQL, and SQLite refuses integers beyond 64 bits, so this is checked first.
    """
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_GROUP_ID


def text(field: str, value: str, limit: int = MAX_TEXT, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field} must be text")
    value = value.strip()
    if required and not value:
        raise ValueError(f"{field} is empty")
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value)} characters; at most {limit} allowed")
    return value


def optional_text(field: str, value: str | None, limit: int = MAX_TEXT) -> str | None:
    return None if value is None else text(field, value, limit)


def key(value: str) -> str:
    if not isinstance(value, str) or not KEY_PATTERN.fullmatch(value):
        raise ValueError(f"invalid session key {value!r}: {KEY_RULE}")
    return value


def _latin1(field: str, value: str | None, limit: int) -> None:
    if value is None:
        return
    if len(value) > limit:
        raise ValueError(f"visitor {field} is {len(value)} characters; at most {limit} allowed")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError(f"visitor {field} must be Latin-1 (ISO/IEC 8859-1) text") from exc


def visitor(fields: VisitorFields) -> VisitorFields:
    """The visitor API's limits: name 63 characters, email 127 and phone 31 Latin-1, visitorid a key."""
    if fields.name is not None and len(fields.name) > 63:
        raise ValueError(f"visitor name is {len(fields.name)} characters; at most 63 allowed")
    _latin1("email", fields.email, 127)
    _latin1("phone", fields.phone, 31)
    if fields.visitorid is not None and not KEY_PATTERN.fullmatch(fields.visitorid):
        raise ValueError(f"invalid visitorid {fields.visitorid!r}: {KEY_RULE}")
    return fields


def end_reason(value: str) -> str:
    return text("end reason", value, MAX_END_REASON, required=True)


def aware(field: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be a timezone-aware datetime, not {value!r}")
    return value
