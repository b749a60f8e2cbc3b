"""Shared pytest set-up for every test folder.

In the PostgreSQL pass (``COBROWSE_TEST_DATABASE=postgresql``, tests/support/test_database.py) every server
a test starts uses PostgreSQL, and tests marked ``sqlite_only`` (they open the SQLite file itself) are skipped.

The report hook stores each phase's report on the test item (``item.rep_setup``, ``item.rep_call``), so that
fixtures can tell at teardown whether their test failed (the browser fixtures then save screenshots).
"""

from __future__ import annotations

import logging
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


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Generator[None, None, None]:
    """A test that runs ``cobrowse serve``/``demo`` code in-process configures logging for the whole process
    (root handlers and level, uvicorn's loggers): put it back, so later tests' output is not changed by it."""
    root = logging.getLogger()
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = (
        list(root.handlers),
        root.level,
        {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate) for n in names},
    )
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, (handlers, propagate) in saved[2].items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# A real server in a thread, for socket- and HTTP-level tests (tests/support/live_server.py).
from support.live_server import live_server  # noqa: E402,F401
