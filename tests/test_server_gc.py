"""The server logs garbage collections that stall it (src/cobrowse/server.py, GcPauses)."""

from __future__ import annotations

import logging

import pytest

from cobrowse import server


def test_a_long_collection_is_logged_with_its_generation(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    watch = server.GcPauses()
    with caplog.at_level(logging.WARNING, logger="cobrowse.server"):
        monkeypatch.setattr(server, "GC_PAUSE_WARN_S", 0.0)  # every collection counts as long
        watch.observe("start", {"generation": 2, "collected": 0, "uncollectable": 0})
        watch.observe("stop", {"generation": 2, "collected": 42, "uncollectable": 0})
        monkeypatch.setattr(server, "GC_PAUSE_WARN_S", 3600.0)  # no collection is that long
        watch.observe("start", {"generation": 0, "collected": 0, "uncollectable": 0})
        watch.observe("stop", {"generation": 0, "collected": 1, "uncollectable": 0})
    messages = [r.getMessage() for r in caplog.records if r.name == "cobrowse.server"]
    assert len(messages) == 1
    assert "generation 2 paused the server" in messages[0] and "42 objects freed" in messages[0]
