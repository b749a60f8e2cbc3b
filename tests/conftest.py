"""Shared pytest set-up for every test folder.

In the PostgreSQL pass (``COBROWSE_TEST_DATABASE=postgresql``, tests/support/test_database.py) every server
a test starts uses PostgreSQL, and tests marked ``sqlite_only`` (they open the SQLite file itself) are skipped.

The report hook stores each phase's report on the test item (``item.rep_setup``, ``item.rep_call``), so that
fixtures can tell at teardown whether their test failed (the browser fixtures then save screenshots).
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from support import test_database

test_database.install()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: looks inside the SQLite file (skipped on PostgreSQL)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if test_database.MODE == "postgresql":
        skip = pytest.mark.skip(reason="inspects the SQLite file; this pass runs on PostgreSQL")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# A real server in a thread, for socket- and HTTP-level tests (tests/support/live_server.py).
from support.live_server import live_server  # noqa: E402,F401
