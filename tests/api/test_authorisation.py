"""Authorisation over a real server: the permission matrix over REST and the agent WebSocket, the role
policy in both settings, visitor origins, API tokens, signed login keys, login throttling and the audit log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed

from cobrowse import sso
from cobrowse.store import Store
from support.live_server import LiveServer

PASSWORD = "agent-password"
ROLE_GROUP = 3
ORIGIN_GROUP = 4


async def _with_store(server: LiveServer, action: Callable[[Store], Awaitable[Any]]) -> Any:
    store = await Store.open(server.config.effective_database_url)
    try:
        return await action(store)
    finally:
        await store.close()


def with_store(server: LiveServer, action: Callable[[Store], Awaitable[Any]]) -> Any:
    return asyncio.run(_with_store(server, action))


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The live server with more agents: of group 1 without admin, without any permission; a role group."""

    async def seed(store: Store) -> None:
        await store.create_agent("plain", PASSWORD, name="Plain", groups=[1])
        await store.create_agent("noview", PASSWORD, name="No View", groups=[1], permissions=[])
        await store.create_group("Roles", ROLE_GROUP)
        for username, role in (
            ("sales1", "sales"),
            ("sales2", "sales"),
            ("support1", "support"),
            ("norole1", None),
        ):
            await store.create_agent(username, PASSWORD, name=username, groups=[ROLE_GROUP], agentrole=role)
        await store.create_group("Origins", ORIGIN_GROUP)
        await store.set_group_options(ORIGIN_GROUP, allowed_origins=["https://shop.example"])
        await store.create_agent(
            "partner", PASSWORD, name="Partner", groups=[1], partnerid="acme", partneruserid="u-7"
        )

    with_store(live_server, seed)
    return live_server


@contextlib.contextmanager
def http(server: LiveServer, username: str | None = None, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=False) as client:
        if username:
            if username == "demo":
                password = "demo-password"
            elif username == "other":
                password = "other-password"
            assert (
                client.post("/agent/login", data={"username": username, "password": password}).status_code
                == 303
            )
        yield client


def cookie(server: LiveServer, username: str) -> str:
    password = {"demo": "demo-password", "other": "other-password"}.get(username, PASSWORD)
    return server.login(username, password)


async def send(ws: ClientConnection, **msg: Any) -> None:
    await ws.send(json.dumps({"v": 1, **msg}))


async def recv(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return data


async def close_code(ws: ClientConnection) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


async def hello(ws: ClientConnection, **msg: Any) -> dict[str, Any]:
    """Send the first message and read the answer; a server that refused at once may have closed already
    (its ``error`` message is still read first)."""
    with contextlib.suppress(ConnectionClosed):
        await send(ws, **msg)
    return await recv(ws)


@contextlib.asynccontextmanager
async def visitor(
    server: LiveServer, key: str, group: int = 1, origin: str | None = None
) -> AsyncIterator[tuple[ClientConnection, dict[str, Any]]]:
    headers = Headers({"Origin": origin}) if origin else None
    ws = await connect(server.ws + "/ws/visitor", additional_headers=headers)
    await send(ws, t="start", group=group, key=key, page={"url": "https://shop.example/", "title": "Shop"})
    try:
        yield ws, await recv(ws)
    finally:
        await ws.close()


async def join(
    server: LiveServer, key: str, who: str | None, group: int | None = None
) -> tuple[ClientConnection, dict[str, Any]]:
    headers = {"Cookie": cookie(server, who)} if who else {}
    ws = await connect(server.ws + "/ws/agent", additional_headers=headers)
    return ws, await hello(ws, t="join", key=key, group=group)


# --- the permission matrix ---------------------------------------------------------------------

#: Who may do what. "visitor" is a visitor's page with its resume token (its only credential).
ACTORS = ("member-admin", "member", "member-noview", "other-group", "anonymous", "visitor")
USER = {"member-admin": "demo", "member": "plain", "member-noview": "noview", "other-group": "other"}
ALLOWED = {
    "member-admin": {"join", "watch", "message", "end", "invite", "manage"},
    "member": {"join", "watch", "message", "end", "invite"},
    "member-noview": set(),
    "other-group": set(),
    "anonymous": set(),
    "visitor": set(),
}


async def ws_attempt(server: LiveServer, actor: str, action: str, key: str) -> tuple[bool, str]:
    """Try ``action`` over the agent socket; (allowed, what happened)."""
    who = USER.get(actor)
    async with visitor(server, key) as (page, started):
        headers = {"Cookie": cookie(server, who)} if who else {}
        if actor == "visitor":
            headers = {"Authorization": f"Bearer {started['token']}"}
        ws = await connect(server.ws + "/ws/agent", additional_headers=headers)
        first = await hello(ws, t="join", key=key)
        if first["t"] != "joined":
            code = await close_code(ws)
            return False, f"{first.get('code')} {code}"
        if action == "join" or action == "watch":
            await ws.close()
            return True, "joined"
        if action == "message":
            await send(ws, t="message", name="hello", data={"x": 1})
            while True:
                got = await recv(page)
                if got["t"] == "message":
                    await ws.close()
                    return got["name"] == "hello", "delivered"
        if action == "end":
            await send(ws, t="end")
            while True:
                got = await recv(page)
                if got["t"] == "ended":
                    return True, "ended"
        raise AssertionError(action)


def rest_attempt(
    server: LiveServer, actor: str, action: str, session_id: int, token: str
) -> tuple[bool, int]:
    who = USER.get(actor)
    with http(server, who) as client:
        headers = {"Authorization": f"Bearer {token}"} if actor == "visitor" else {}
        if action == "watch":
            response = client.get(f"/api/v1/sessions/{session_id}", headers=headers)
            listing = client.get("/api/v1/groups/1/sessions", headers=headers)
            assert (listing.status_code == 200) == (response.status_code == 200), listing.text
        elif action == "end":
            response = client.post(f"/api/v1/sessions/{session_id}/end", headers=headers)
        elif action == "invite":
            response = client.post(f"/api/v1/sessions/{session_id}/guests", headers=headers)
            if response.status_code < 300:
                assert "/guest/" in response.json()["url"]
        elif action == "manage":
            response = client.get("/api/v1/agents", headers=headers)
            patch = client.patch("/api/v1/groups/1/settings", json={"name": "Demo"}, headers=headers)
            assert (patch.status_code == 200) == (response.status_code == 200), patch.text
        else:
            raise AssertionError(action)
    return response.status_code < 300, response.status_code


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", ["join", "watch", "message", "end"])
def test_matrix_over_the_websocket(server: LiveServer, actor: str, action: str) -> None:
    allowed, what = asyncio.run(ws_attempt(server, actor, action, f"m-ws-{actor}-{action}"))
    assert allowed == (action in ALLOWED[actor]), what
    if not allowed:
        expected = {
            "member-noview": "accessdenied 4403",
            "other-group": "notfound 4404",  # its groups have no such session
            "anonymous": "unauthenticated 4401",
            "visitor": "unauthenticated 4401",
        }[actor]
        assert what == expected


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", ["watch", "end", "invite", "manage"])
def test_matrix_over_rest(server: LiveServer, actor: str, action: str) -> None:
    async def scenario() -> tuple[bool, int]:
        async with visitor(server, f"m-rest-{actor}-{action}") as (_, started):
            return await asyncio.to_thread(
                rest_attempt, server, actor, action, started["session"], started["token"]
            )

    allowed, status = asyncio.run(scenario())
    assert allowed == (action in ALLOWED[actor]), status
    if not allowed:
        assert (
            status
            == {
                "member": 403,
                "member-noview": 403,
                "other-group": 404 if action != "manage" else 403,  # no such session in its groups
                "anonymous": 401,
                "visitor": 401,
            }[actor]
        )


def test_other_group_naming_the_group_is_forbidden(server: LiveServer) -> None:
    async def scenario() -> None:
        async with visitor(server, "named-group"):
            ws, first = await join(server, "named-group", "other", group=1)
            assert first["code"] == "forbidden" and await close_code(ws) == 4403

    asyncio.run(scenario())


# --- role policy -------------------------------------------------------------------------------


def _mixing(server: LiveServer, allowed: bool) -> None:
    with_store(server, lambda store: store.set_group_options(ROLE_GROUP, allow_mixed_roles=allowed))


def test_roles_not_mixed(server: LiveServer) -> None:
    _mixing(server, False)

    async def scenario() -> None:
        async with visitor(server, "roles-strict", group=ROLE_GROUP) as (page, _):
            first, joined = await join(server, "roles-strict", "sales1")
            assert joined["t"] == "joined"
            same, joined2 = await join(server, "roles-strict", "sales2")
            assert joined2["t"] == "joined"
            for who in ("support1", "norole1"):
                ws, refused = await join(server, "roles-strict", who)
                assert refused["t"] == "error" and refused["code"] == "accessdenied"
                assert "'sales'" in refused["msg"]
                assert await close_code(ws) == 4403
            for ws in (first, same):
                await ws.close()
        async with visitor(server, "roles-none", group=ROLE_GROUP):
            none, joined = await join(server, "roles-none", "norole1")
            assert joined["t"] == "joined"
            ws, refused = await join(server, "roles-none", "sales1")
            assert refused["code"] == "accessdenied" and "no role" in refused["msg"]
            await none.close()

    asyncio.run(scenario())


def test_roles_mixed_when_the_group_allows_it(server: LiveServer) -> None:
    _mixing(server, True)
    try:

        async def scenario() -> None:
            async with visitor(server, "roles-mixed", group=ROLE_GROUP) as (page, _):
                a, joined = await join(server, "roles-mixed", "sales1")
                b, joined2 = await join(server, "roles-mixed", "support1")
                assert joined["t"] == joined2["t"] == "joined"
                while True:  # the visitor's agents event shows both roles, for its masking hook
                    got = await recv(page)
                    if got["t"] == "agents" and got["count"] == 2:
                        break
                assert sorted(e["agentrole"] for e in got["agentlist"]) == ["sales", "support"]
                await a.close()
                await b.close()

        asyncio.run(scenario())
    finally:
        _mixing(server, False)


# --- visitor origins ---------------------------------------------------------------------------


def test_visitor_pages_of_other_origins_are_refused(server: LiveServer) -> None:
    async def scenario() -> None:
        async with visitor(server, "o-good", ORIGIN_GROUP, origin="https://shop.example") as (_, ok):
            assert ok["t"] == "started"
            async with visitor(server, "o-bad", ORIGIN_GROUP, origin="https://evil.example") as (ws, bad):
                assert bad["t"] == "error" and bad["code"] == "origin" and "evil.example" in bad["msg"]
                assert await close_code(ws) == 4403
            async with visitor(server, "o-none", ORIGIN_GROUP) as (ws, bad):
                assert bad["code"] == "origin"
            # resuming from another origin is refused too
            ws = await connect(
                server.ws + "/ws/visitor", additional_headers={"Origin": "https://evil.example"}
            )
            await send(ws, t="resume", session=ok["session"], token=ok["token"])
            assert (await recv(ws))["code"] == "origin"
        async with visitor(server, "o-any", 1, origin="https://anything.example") as (_, any_ok):
            assert any_ok["t"] == "started"  # group 1 has no list: any origin

    asyncio.run(scenario())


# --- API tokens --------------------------------------------------------------------------------


def test_api_tokens_create_use_list_revoke(server: LiveServer) -> None:
    with http(server, "plain") as client:
        created = client.post("/api/v1/tokens", json={"name": "crm"})
        assert created.status_code == 201
        token = created.json()["token"]
        assert token.startswith("cbt_") and created.json()["prefix"] == token[:12]
        listed = client.get("/api/v1/tokens").json()
        assert [t["prefix"] for t in listed] == [token[:12]] and "token" not in listed[0]
    with httpx.Client(base_url=server.url) as bare:
        auth = {"Authorization": f"Bearer {token}"}
        assert bare.get("/api/v1/me", headers=auth).json()["username"] == "plain"
        # a token request needs no same-origin check: browsers never add it on their own
        cross = bare.post("/api/v1/tokens", json={}, headers={**auth, "Origin": "https://evil.example"})
        assert cross.status_code == 201
        assert bare.get("/api/v1/me", headers={"Authorization": "Bearer cbt_wrong"}).status_code == 401
        token_id = created.json()["id"]
        assert bare.delete(f"/api/v1/tokens/{token_id}", headers=auth).json()["revoked_at"]
        assert bare.get("/api/v1/me", headers=auth).status_code == 401
    with http(server, "other") as outsider:
        assert outsider.delete(f"/api/v1/tokens/{token_id}").status_code == 404
    stored = with_store(server, lambda store: store.list_tokens())
    assert token not in json.dumps([t.__dict__ for t in stored], default=str)


def test_cookie_requests_that_change_state_need_the_same_origin(server: LiveServer) -> None:
    evil = {"Origin": "https://evil.example"}
    with http(server, "demo") as client:
        for method, path, body in (
            ("POST", "/api/v1/tokens", {}),
            ("PATCH", "/api/v1/groups/1/settings", {"name": "x"}),
            ("POST", "/api/v1/agents", {"username": "x", "password": "password-1", "groups": [1]}),
            ("DELETE", "/api/v1/tokens/1", None),
            ("POST", "/api/v1/groups/1/sso-secret", None),
        ):
            response = client.request(method, path, json=body, headers=evil)
            assert response.status_code == 403 and "cross-site" in response.json()["detail"], path


# --- signed login keys -------------------------------------------------------------------------


def test_sso_login_keys(server: LiveServer) -> None:
    with http(server, "demo") as admin:
        secret = admin.post("/api/v1/groups/1/sso-secret").json()["secret"]

    def key(secret: str, expires: int) -> dict[str, str]:
        return {
            "groupid": "1",
            "partnerid": "acme",
            "partneruserid": "u-7",
            "expires": str(expires),
            "signature": sso.sign(secret, "acme", "u-7", expires),
        }

    soon = int(time.time()) + 300
    with http(server) as client:
        wrong = client.get("/agent/sso", params=key("not-the-secret", soon))
        assert wrong.status_code == 403 and "signature is wrong" in wrong.text
        expired = client.get("/agent/sso", params=key(secret, int(time.time()) - 1))
        assert expired.status_code == 403 and "expired" in expired.text
        good = key(secret, soon)
        ok = client.get("/agent/sso", params=good)
        assert ok.status_code == 303 and ok.headers["location"] == "/agent/"
        assert client.get("/api/v1/me").json()["username"] == "partner"
    with http(server) as again:
        replay = again.get("/agent/sso", params=good)
        assert replay.status_code == 403 and "used already" in replay.text
        assert again.get("/api/v1/me").status_code == 401


# --- login throttling --------------------------------------------------------------------------


def test_repeated_failed_logins_are_answered_with_429(server: LiveServer) -> None:
    with_store(server, lambda store: store.create_agent("guessme", PASSWORD, name="G", groups=[1]))
    with http(server) as client:
        for _ in range(5):
            failed = client.post("/agent/login", data={"username": "guessme", "password": "wrong-guess"})
            assert failed.status_code == 401
        blocked = client.post("/agent/login", data={"username": "guessme", "password": PASSWORD})
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
        assert "Too many failed sign-ins" in blocked.text
        other = client.post("/agent/login", data={"username": "plain", "password": PASSWORD})
        assert other.status_code == 303  # another username from the same address still gets in


# --- audit log ---------------------------------------------------------------------------------


def test_joins_leaves_ends_and_permission_changes_are_audited(server: LiveServer) -> None:
    async def scenario() -> int:
        async with visitor(server, "audited") as (page, started):
            ws, joined = await join(server, "audited", "plain")
            assert joined["t"] == "joined"
            await ws.close()
            ws, _ = await join(server, "audited", "demo")
            await send(ws, t="end")
            while (await recv(page))["t"] != "ended":
                pass
            return int(started["session"])

    session_id = asyncio.run(scenario())
    with http(server, "demo") as admin:
        plain = next(a for a in admin.get("/api/v1/agents").json() if a["username"] == "plain")
        changed = admin.patch(f"/api/v1/agents/{plain['id']}", json={"permissions": ["view", "video"]})
        assert changed.status_code == 200 and changed.json()["permissions"] == ["view", "video"]
        deadline = time.monotonic() + 5
        while True:
            entries = admin.get("/api/v1/audit", params={"session": session_id}).json()
            actions = [(e["action"], e["actor"]) for e in reversed(entries)]
            if ("session.leave", "demo") in actions or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert actions[:2] == [("session.start", "visitor"), ("session.join", "plain")]
        assert {
            ("session.leave", "plain"),
            ("session.join", "demo"),
            ("session.end.request", "demo"),
            ("session.end", "agent"),
            ("session.leave", "demo"),
        } <= set(actions)
        perms = admin.get("/api/v1/audit", params={"action": "agent.permissions"}).json()
        assert perms[0]["actor"] == "demo" and perms[0]["details"]["after"] == ["view", "video"]
        history = admin.get("/api/v1/sessions", params={"live": "false", "agent": "plain", "key": "audited"})
        assert [s["id"] for s in history.json()] == [session_id]
    with http(server, "plain") as member:
        assert member.get("/api/v1/audit").status_code == 403


# --- guests: the guest row of the matrix (join only by invitation; watch; nothing else) -------------


@pytest.mark.parametrize("action", ["message", "invite", "end", "manage"])
def test_matrix_guest(server: LiveServer, action: str) -> None:
    """An admitted guest watches; ``end``/``message``/``admit`` over its socket are refused with
    ``accessdenied``, and it has no credential for REST at all (``invite``/``manage``: 401)."""

    async def scenario() -> None:
        async with visitor(server, f"m-guest-{action}") as (page, started):
            agent_ws, joined = await join(server, f"m-guest-{action}", "demo")
            assert joined["t"] == "joined"
            with http(server, "demo") as client:
                url = client.post(f"/api/v1/sessions/{started['session']}/guests").json()["url"]
            guest = await connect(server.ws + "/ws/guest")
            await send(guest, t="guestjoin", token=url.rsplit("/", 1)[1], name="Guest")
            while (request := await recv(agent_ws))["t"] != "guest_request":
                pass
            await send(agent_ws, t="admit", guestid=request["guestid"], accept=True)
            assert (await recv(guest))["t"] == "addguestaccepted"
            assert (await recv(guest))["t"] == "joined"  # watching is allowed
            wire = {"message": {"t": "message", "name": "x", "data": 1}, "end": {"t": "end"}}
            wire["invite"] = {"t": "admit", "guestid": request["guestid"], "accept": True}
            if action in wire:
                await send(guest, **wire[action])
                while (got := await recv(guest))["t"] != "error":
                    pass
                assert got["code"] == "accessdenied"
            with http(server) as anonymous:  # a guest holds no cookie or token: REST sees no one
                path = (
                    f"/api/v1/sessions/{started['session']}/guests"
                    if action == "invite"
                    else "/api/v1/agents"
                )
                assert anonymous.request("POST" if action == "invite" else "GET", path).status_code == 401
            await guest.close()
            await agent_ws.close()

    asyncio.run(scenario())
