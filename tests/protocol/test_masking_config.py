"""Group masking settings: what is accepted, and the page rule (deny wins; a non-empty allow list masks the rest)."""

from __future__ import annotations

import pytest

from cobrowse.protocol.masking import glob_matches, page_masked, parse_masking_config
from cobrowse.protocol.messages import MaskingConfig, MaskingPages


def test_valid_settings_parse() -> None:
    config = parse_masking_config({"selectors": ["#card", ".x > input"], "pages": {"deny": ["*/account/*"]}})
    assert config.selectors == ["#card", ".x > input"] and config.pages.deny == ["*/account/*"]
    assert parse_masking_config({}) == MaskingConfig()


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"selectors": "#card"}, "invalid masking settings"),
        ({"selectors": [1]}, "invalid masking settings"),
        ({"selectors": ["a{color:red}"]}, "no braces"),
        ({"selectors": ["  "]}, "invalid CSS selector"),
        ({"selectors": ["x"] * 201}, "at most 200"),
        ({"pages": {"deny": [""]}}, "invalid deny pattern"),
        ({"pages": {"allow": "x"}}, "invalid masking settings"),
        ({"unknown": 1, "selectors": 5}, "invalid masking settings"),
    ],
)
def test_invalid_settings_say_why(raw: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_masking_config(raw)


@pytest.mark.parametrize(
    ("pattern", "url", "expected"),
    [
        ("*/account/*", "https://bank.example/account/42", True),
        ("*/account/*", "https://bank.example/accounts", False),
        ("https://a.example/", "https://a.example/", True),
        ("https://a.example/", "https://a.example/x", False),
        ("*.pdf", "https://a.example/doc.pdf", True),
        ("https://a.example/?q=(x)", "https://a.example/?q=(x)", True),  # regex characters are literal
    ],
)
def test_glob(pattern: str, url: str, expected: bool) -> None:
    assert glob_matches(pattern, url) is expected


def test_page_rule() -> None:
    deny_only = MaskingConfig(pages=MaskingPages(deny=["*/secret*"]))
    assert page_masked(deny_only, "https://x/secret/1") and not page_masked(deny_only, "https://x/public")
    allow = MaskingConfig(pages=MaskingPages(allow=["https://x/public*"], deny=["*/public/private*"]))
    assert not page_masked(allow, "https://x/public/page")
    assert page_masked(allow, "https://x/other")  # not on the allow list
    assert page_masked(allow, "https://x/public/private/1")  # deny wins
