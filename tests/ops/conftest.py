"""Fixtures of the operations tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ops.node_process import NodeProcess, node_processes


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[Callable[..., NodeProcess]]:
    """Start ``cobrowse serve`` on a free port with extra flags and ``COBROWSE_*`` settings; waits for /healthz."""
    with node_processes(tmp_path) as start:
        yield start
