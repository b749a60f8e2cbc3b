"""Login throttling and signed login keys, without a server (the HTTP side is in tests/api)."""

from __future__ import annotations

import pytest

from cobrowse import sso
from cobrowse.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_per_username_block_that_username_for_the_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(user_limit=3, ip_limit=10, window=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("Eve", "1.1.1.1") is None
        throttle.failed("Eve", "1.1.1.1")
    assert throttle.retry_after("eve", "2.2.2.2") == 60  # any address, any case
    assert throttle.retry_after("bob", "1.1.1.1") is None
    clock.now += 30
    assert throttle.retry_after("eve", "1.1.1.1") == 30
    clock.now += 30
    assert throttle.retry_after("eve", "1.1.1.1") is None


def test_failures_per_address_and_success_clears_the_username() -> None:
    throttle = LoginThrottle(user_limit=3, ip_limit=4, window=60, clock=Clock())
    for name in ("a", "b", "c", "d"):
        throttle.failed(name, "9.9.9.9")
    assert throttle.retry_after("new", "9.9.9.9") is not None
    assert throttle.retry_after(None, "9.9.9.9") is not None
    assert throttle.retry_after("new", "8.8.8.8") is None
    throttle.failed("x", "1.1.1.1")
    throttle.failed("x", "2.2.2.2")
    throttle.succeeded("x")
    throttle.failed("x", "3.3.3.3")
    assert throttle.retry_after("x", "4.4.4.4") is None


def test_the_throttle_is_bounded() -> None:
    throttle = LoginThrottle(max_keys=10, clock=Clock())
    for i in range(100):
        throttle.failed(f"u{i}", f"10.0.0.{i}")
    assert len(throttle._failures) == 10


def _params(secret: str, expires: int, **over: str) -> dict[str, str]:
    params = {
        "groupid": "1",
        "partnerid": "acme",
        "partneruserid": "u-7",
        "expires": str(expires),
        "signature": sso.sign(secret, "acme", "u-7", expires),
    }
    return {**params, **over}


def test_a_good_key_verifies() -> None:
    key = sso.parse(_params("s3cret", 2000))
    sso.verify(key, "s3cret", now=1000)


@pytest.mark.parametrize(
    ("params", "secret", "now", "error"),
    [
        (_params("other", 2000), "s3cret", 1000, "signature is wrong"),
        (_params("s3cret", 2000, partneruserid="u-8"), "s3cret", 1000, "signature is wrong"),
        (_params("s3cret", 999), "s3cret", 1000, "expired"),
        (_params("s3cret", 1000 + sso.MAX_LIFETIME + 1), "s3cret", 1000, "too long"),
        (_params("s3cret", 2000), None, 1000, "not set up"),
    ],
)
def test_bad_keys_are_refused_with_the_reason(
    params: dict[str, str], secret: str | None, now: float, error: str
) -> None:
    with pytest.raises(sso.LoginKeyError, match=error):
        sso.verify(sso.parse(params), secret, now)


def test_malformed_keys_are_refused() -> None:
    with pytest.raises(sso.LoginKeyError, match="signature missing"):
        sso.parse({**_params("s", 2000), "signature": ""})
    with pytest.raises(sso.LoginKeyError, match="64 hexadecimal"):
        sso.parse({**_params("s", 2000), "signature": "xyz"})
    with pytest.raises(sso.LoginKeyError, match="whole numbers"):
        sso.parse({**_params("s", 2000), "expires": "soon"})
