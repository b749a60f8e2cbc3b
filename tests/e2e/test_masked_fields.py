"""Fields the page marks ``glance_masked`` (and passwords) never leave the visitor's browser.

Checked on the wire (every frame the visitor's page sends) and in the agent's replay. The full masking
feature (group rules, getMaskingDescriptor) has its own issue; this covers the markup convention that the
demo's form relies on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, WebSocket

Wait = Callable[..., Any]
SECRET_CARD = "4111222233334444"
SECRET_CVC = "987"
SECRET_PASSWORD = "hunter2-secret"


def test_masked_inputs_and_passwords_never_leave_the_page(
    stack: Any, visitor: Page, agent: Callable[..., Page], wait_for: Wait
) -> None:
    sent: list[str] = []

    def opened(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: sent.append(payload if isinstance(payload, str) else ""))

    visitor.on("websocket", opened)
    visitor.goto(f"{stack.site}/form.html")
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate("GLANCE.Cobrowse.Visitor.startSession('masked-form')")
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true")
    console = agent()
    console.evaluate("(key) => window.CobrowseAgent.join(key)", "masked-form")

    visitor.locator("#card-number").press_sequentially(SECRET_CARD)
    visitor.locator("#cvc").press_sequentially(SECRET_CVC)
    visitor.locator("input[type=password]").first.press_sequentially(SECRET_PASSWORD)
    visitor.locator("#name").press_sequentially("Visible Name")

    replay = (
        "(arg) => { const f = window.CobrowseAgent.replayFrame(); const d = f && f.contentDocument;"
        " return !!d && !!d.getElementById(arg.id) && d.getElementById(arg.id).value === arg.value; }"
    )
    wait_for(console, replay, arg={"id": "name", "value": "Visible Name"})
    # the masked fields are shown as asterisks of the same length
    wait_for(console, replay, arg={"id": "card-number", "value": "*" * len(SECRET_CARD)})
    wait_for(console, replay, arg={"id": "cvc", "value": "*" * len(SECRET_CVC)})

    # unmasked selects keep their state: the page's preselected option, then the visitor's choice
    wait_for(console, replay, arg={"id": "account-type", "value": "platinum"})
    visitor.select_option("#account-type", "everyday")
    wait_for(console, replay, arg={"id": "account-type", "value": "everyday"})

    wire = "\n".join(sent)
    assert "Visible Name" in wire  # the capture works: unmasked typing is on the wire
    for secret in (SECRET_CARD, SECRET_CVC, SECRET_PASSWORD, "41112222"):
        # a numeric secret counts where no digit touches it: a timestamp like 1795622791987 holds "987" by chance
        pattern = rf"(?<!\d){re.escape(secret)}(?!\d)" if secret.isdigit() else re.escape(secret)
        assert not re.search(pattern, wire), secret
    events = [json.loads(frame) for frame in sent if frame.startswith("{")]
    assert any(message.get("t") == "events" for message in events)
