"""Password hashing for agent accounts: argon2id through argon2-cffi.

Why argon2id: it is the winner of the Password Hashing Competition and the variant RFC 9106 recommends. It is
memory-hard (each guess costs tens of MiB of RAM, which makes GPU and ASIC cracking of a stolen table
expensive) and the "id" hybrid resists both side-channel timing attacks (the data-independent first pass of
argon2i) and time-memory trade-offs (the data-dependent rest, as argon2d). scrypt would also do; bcrypt and
PBKDF2 are not memory-hard. The parameters are argon2-cffi's defaults (RFC 9106 "low memory" profile); they
are encoded in every hash, so raising them later only needs :func:`needs_rehash` on the next successful login.

Hashing takes tens of milliseconds of CPU on purpose: async callers run these functions in a worker thread.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def hash_password(password: str) -> str:
    """The PHC-format argon2id hash of ``password`` (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches ``password_hash``; False for a wrong password or a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True if ``password_hash`` was made with other parameters than the current ones (or is not argon2)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@functools.cache
def dummy_hash() -> str:
    """A hash of a fixed password, verified against when a username is unknown.

    Verifying against it costs the same time as a real check, so a login attempt does not reveal whether the
    username exists.
    """
    return hash_password("cobrowse-dummy-password-for-timing")
