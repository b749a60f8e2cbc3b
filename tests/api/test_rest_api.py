"""REST API /api/v1 over a real server: health, identity, sessions, ending a session, and its docs."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator

import httpx
from websockets.asyncio.client import connect

from support.live_server import LiveServer


@contextlib.contextmanager
def client(
    server: LiveServer, login: tuple[str, str] | None = ("demo", "demo-password")
) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=False) as c:
        if login:
            assert (
                c.post("/agent/login", data={"username": login[0], "password": login[1]}).status_code == 303
            )
        yield c


async def _start(server: LiveServer, key: str) -> tuple[object, dict[str, object]]:
    ws = await connect(server.ws + "/ws/visitor")
    await ws.send(json.dumps({"v": 1, "t": "start", "group": 1, "key": key, "visitor": {"name": "Rita"}}))
    return ws, json.loads(await ws.recv())


def test_health_and_openapi_docs(live_server: LiveServer) -> None:
    with client(live_server, login=None) as c:
        assert c.get("/api/v1/health").json()["status"] == "ok"
        spec = c.get("/api/v1/openapi.json").json()
        assert {
            "/api/v1/health",
            "/api/v1/me",
            "/api/v1/sessions",
            "/api/v1/sessions/{session_id}/end",
        } <= set(spec["paths"])
        docs = c.get("/api/v1/docs")
        assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
        assert c.get("/static/swagger/swagger-ui-bundle.js").status_code == 200  # no CDN needed


def test_api_needs_a_login(live_server: LiveServer) -> None:
    with client(live_server, login=None) as c:
        for path in ("/api/v1/me", "/api/v1/sessions", "/api/v1/sessions/1"):
            response = c.get(path)
            assert response.status_code == 401 and "log in" in response.json()["detail"]


def test_me_lists_the_agent_and_its_groups(live_server: LiveServer) -> None:
    with client(live_server) as c:
        me = c.get("/api/v1/me").json()
    assert me["username"] == "demo" and me["groups"] == [1]


def test_sessions_listing_detail_and_end(live_server: LiveServer) -> None:
    async def scenario() -> None:
        visitor, started = await _start(live_server, "rest-1")
        session_id = started["session"]
        with client(live_server) as c:
            live = c.get("/api/v1/sessions").json()
            mine = [s for s in live if s["id"] == session_id]
            assert mine and mine[0]["key"] == "rest-1" and mine[0]["live"] is True
            detail = c.get(f"/api/v1/sessions/{session_id}").json()
            assert detail["visitor"]["name"] == "Rita"
            assert [p["role"] for p in detail["participants"]] == ["visitor"]
            # another group's agent cannot see or end it
            with client(live_server, ("other", "other-password")) as outsider:
                assert outsider.get(f"/api/v1/sessions/{session_id}").status_code == 404
                assert outsider.post(f"/api/v1/sessions/{session_id}/end").status_code == 404
            cross_site = c.post(
                f"/api/v1/sessions/{session_id}/end", headers={"Origin": "http://evil.example"}
            )
            assert cross_site.status_code == 403
            assert c.post(f"/api/v1/sessions/{session_id}/end").status_code == 204
            ended = json.loads(await asyncio.wait_for(visitor.recv(), 5))  # type: ignore[attr-defined]
            assert ended == {"t": "ended", "v": 1, "reason": "agent"}
            after = c.get(f"/api/v1/sessions/{session_id}").json()
            assert after["end_reason"] == "agent" and after["ended_at"] and after["live"] is False
            assert c.post(f"/api/v1/sessions/{session_id}/end").status_code == 409
            assert session_id not in [s["id"] for s in c.get("/api/v1/sessions").json()]
            assert session_id in [s["id"] for s in c.get("/api/v1/sessions?live=false").json()]
            assert c.get("/api/v1/sessions?limit=0").status_code == 422

    asyncio.run(scenario())


def test_group_masking_rules_are_read_by_members_and_set_by_admins(live_server: LiveServer) -> None:
    rules = {"selectors": [".secret", "#ssn"], "pages": {"allow": ["https://shop.example/*"], "deny": []}}
    with client(live_server) as admin:
        assert [g["id"] for g in admin.get("/api/v1/groups").json()] == [1]
        put = admin.put("/api/v1/groups/1/masking", json=rules)
        assert put.status_code == 200 and put.json() == rules
        assert admin.get("/api/v1/groups/1/masking").json() == rules
        bad = admin.put("/api/v1/groups/1/masking", json={"selectors": ["a{b}"]})
        assert bad.status_code == 422 and "no braces" in bad.json()["detail"]
        assert admin.put("/api/v1/groups/1/masking", json={"selectors": "x"}).status_code == 422
        cross = admin.put("/api/v1/groups/1/masking", json=rules, headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403
        assert admin.get("/api/v1/groups/2/masking").status_code == 404  # not a group of theirs
        admin.put("/api/v1/groups/1/masking", json={})
    with client(live_server, ("other", "other-password")) as member:
        assert member.get("/api/v1/groups/2/masking").json() == {
            "selectors": [],
            "pages": {"allow": [], "deny": []},
        }
        refused = member.put("/api/v1/groups/2/masking", json=rules)
        assert refused.status_code == 403 and "administrator" in refused.json()["detail"]
