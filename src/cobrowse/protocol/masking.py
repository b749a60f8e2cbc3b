"""Group masking settings: their validation, and the page rule the visitor script applies.

The group's rules are stored in its settings (``settings["masking"]``) and sent to the visitor script at each
start and page load (``started.masking``). Masking itself happens in the visitor's browser; this module only
decides what a valid configuration is, and states the page rule once in Python (the script has its twin):
a page is masked if its URL matches a deny pattern, or the allow list is not empty and it matches none of it.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .messages import MaskingConfig

MAX_SELECTORS = 200
MAX_PATTERNS = 200
MAX_LENGTH = 500


def parse_masking_config(raw: Any) -> MaskingConfig:
    """Validate settings given by an administrator; raise ValueError saying what is wrong."""
    try:
        config = msgspec.convert(raw, MaskingConfig, strict=True)
    except msgspec.ValidationError as exc:
        raise ValueError(f"invalid masking settings: {exc}") from None
    if len(config.selectors) > MAX_SELECTORS:
        raise ValueError(f"at most {MAX_SELECTORS} masked element selectors")
    for selector in config.selectors:
        if not selector.strip() or len(selector) > MAX_LENGTH or "{" in selector or "}" in selector:
            raise ValueError(
                f"invalid CSS selector {selector[:60]!r}: 1 to {MAX_LENGTH} characters, no braces"
            )
    for name, patterns in (("allow", config.pages.allow), ("deny", config.pages.deny)):
        if len(patterns) > MAX_PATTERNS:
            raise ValueError(f"at most {MAX_PATTERNS} {name} patterns")
        for pattern in patterns:
            if not pattern.strip() or len(pattern) > MAX_LENGTH:
                raise ValueError(f"invalid {name} pattern {pattern[:60]!r}: 1 to {MAX_LENGTH} characters")
    return config


def glob_matches(pattern: str, url: str) -> bool:
    """``*`` matches any run of characters (``/`` included); everything else is literal."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, url) is not None


def page_masked(config: MaskingConfig, url: str) -> bool:
    if any(glob_matches(p, url) for p in config.pages.deny):
        return True
    return bool(config.pages.allow) and not any(glob_matches(p, url) for p in config.pages.allow)
