"""Shared pytest set-up for every test folder.

The report hook stores each phase's report on the test item (``item.rep_setup``, ``item.rep_call``), so that
fixtures can tell at teardown whether their test failed (the browser fixtures then save screenshots).
"""

from __future__ import annotations

from collections.abc import Generator

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# A real server in a thread, for socket- and HTTP-level tests (tests/support/live_server.py).
from support.live_server import live_server  # noqa: E402,F401
