"""Password hashing: argon2id, verification that never raises, rehash detection."""

from __future__ import annotations

from argon2 import PasswordHasher

from cobrowse import passwords


def test_hash_is_argon2id_and_salted() -> None:
    first, second = passwords.hash_password("correct horse"), passwords.hash_password("correct horse")
    assert first.startswith("$argon2id$v=19$")
    assert first != second  # a random salt each time
    assert "correct horse" not in first


def test_verify_right_and_wrong_password() -> None:
    stored = passwords.hash_password("correct horse")
    assert passwords.verify_password(stored, "correct horse") is True
    assert passwords.verify_password(stored, "correct horsE") is False
    assert passwords.verify_password(stored, "") is False


def test_verify_a_malformed_hash_is_false_not_an_error() -> None:
    assert passwords.verify_password("not-a-hash", "correct horse") is False
    assert passwords.verify_password("", "correct horse") is False


def test_needs_rehash_only_for_other_parameters() -> None:
    assert passwords.needs_rehash(passwords.hash_password("x" * 8)) is False
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("x" * 8)
    assert passwords.needs_rehash(weak) is True
    assert passwords.needs_rehash("$2b$12$notargon") is True


def test_dummy_hash_is_a_real_hash_that_matches_nothing_typed() -> None:
    dummy = passwords.dummy_hash()
    assert dummy.startswith("$argon2id$") and dummy == passwords.dummy_hash()
    assert passwords.verify_password(dummy, "demo-password") is False
