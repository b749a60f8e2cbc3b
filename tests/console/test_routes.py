"""The agent console's pages: sign in and out, the login redirect, and the security headers of every page.

Runs the real app (``create_app``) on a temporary SQLite database with the demo agent seeded, through
Starlette's test client (requests to ``http://testserver``).
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from cobrowse.app import create_app
from cobrowse.config import Config, ensure_secret
from cobrowse.console.routes import CONSOLE_CSP, LOGIN_FAILED
from cobrowse.store import Store

ORIGIN = "http://testserver"
HOSTILE_NAME = 'Eve <script>alert("x")</script> & Co'


async def _seed(config: Config) -> None:
    store = await Store.open(config.effective_database_url)
    try:
        await store.upgrade()
        await store.seed_demo()
        await store.create_agent("eve", "eve-password-1", name=HOSTILE_NAME, groups=[1])
    finally:
        await store.close()


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    data_dir: Path = tmp_path_factory.mktemp("console")
    cfg = ensure_secret(Config(data_dir=str(data_dir), log_level="warning"))
    asyncio.run(_seed(cfg))
    return cfg


@pytest.fixture
def client(config: Config) -> Iterator[TestClient]:
    with TestClient(create_app(config), base_url=ORIGIN, follow_redirects=False) as test_client:
        yield test_client


def login(
    client: TestClient,
    username: str = "demo",
    password: str = "demo-password",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return client.post("/agent/login", data={"username": username, "password": password}, headers=headers)


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CONSOLE_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    # not no-referrer: with it Chromium posts forms with "Origin: null", which the CSRF guard refuses
    assert response.headers["referrer-policy"] == "same-origin"


def test_csp_forbids_foreign_and_inline_scripts_and_framing() -> None:
    directives = {d.split()[0]: d.split()[1:] for d in CONSOLE_CSP.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]


def test_login_page_is_a_form_with_security_headers(client: TestClient) -> None:
    response = client.get("/agent/login")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_security_headers(response)
    assert 'name="username"' in response.text and 'name="password"' in response.text
    assert 'method="post"' in response.text


def test_console_redirects_to_login_when_not_logged_in(client: TestClient) -> None:
    response = client.get("/agent/")
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/agent/login"
    assert parse_qs(target.query)["next"] == ["/agent/"]


def test_redirect_keeps_the_session_key_for_after_login(client: TestClient) -> None:
    response = client.get("/agent/?key=1234")
    assert response.status_code == 303
    next_path = parse_qs(urlsplit(response.headers["location"]).query)["next"][0]
    assert next_path == "/agent/?key=1234"
    form = client.get(response.headers["location"])
    assert form.status_code == 200
    action = re.search(r'<form method="post" action="([^"]*)"', form.text)
    assert action is not None, form.text
    done = client.post(html.unescape(action[1]), data={"username": "demo", "password": "demo-password"})
    assert done.status_code == 303
    assert done.headers["location"] == "/agent/?key=1234"


def test_login_ok_opens_the_console(client: TestClient) -> None:
    response = login(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/agent/"
    assert "cobrowse_console" in client.cookies
    page = client.get("/agent/")
    assert page.status_code == 200
    assert_security_headers(page)
    assert page.headers["cache-control"] == "no-store"
    assert '<script src="/static/agent.js"' in page.text
    assert 'id="cb-stage"' in page.text
    assert "<script>" not in page.text  # no inline script: the CSP would refuse it anyway
    # already signed in: the form sends you on
    again = client.get("/agent/login")
    assert again.status_code == 303 and again.headers["location"] == "/agent/"


@pytest.mark.parametrize(
    ("username", "password"),
    [("demo", "wrong-password"), ("nobody", "demo-password"), ("", ""), ("demo", "")],
)
def test_login_fails_without_saying_why(client: TestClient, username: str, password: str) -> None:
    response = login(client, username, password)
    assert response.status_code == 401
    assert_security_headers(response)
    assert LOGIN_FAILED in response.text
    assert "cobrowse_console" not in client.cookies
    assert client.get("/agent/").status_code == 303


def test_unknown_user_and_wrong_password_look_the_same(client: TestClient) -> None:
    unknown = login(client, "nobody", "x-password")
    wrong = login(client, "demo", "x-password")
    assert unknown.status_code == wrong.status_code == 401
    # the form echoes the username typed; apart from that the two answers are the same
    unknown_page = unknown.text.replace('value="nobody"', 'value="U"')
    assert unknown_page == wrong.text.replace('value="demo"', 'value="U"')


def test_login_refuses_a_cross_site_post(client: TestClient) -> None:
    response = login(client, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert "cobrowse_console" not in client.cookies
    assert login(client, headers={"Origin": "null"}).status_code == 403
    assert login(client, headers={"Origin": ORIGIN}).status_code == 303


@pytest.mark.parametrize(
    ("next_param", "expected"),
    [
        ("/agent/?key=42", "/agent/?key=42"),
        ("//evil.example/", "/agent/"),
        ("http://evil.example/agent/", "/agent/"),
        ("/\\evil.example", "/agent/"),
        ("javascript:alert(1)", "/agent/"),
    ],
)
def test_login_redirects_only_to_local_paths(client: TestClient, next_param: str, expected: str) -> None:
    response = client.post(
        "/agent/login", params={"next": next_param}, data={"username": "demo", "password": "demo-password"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == expected


def test_logout_clears_the_session(client: TestClient) -> None:
    assert login(client).status_code == 303
    assert client.get("/agent/").status_code == 200
    cross = client.post("/agent/logout", headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert client.get("/agent/").status_code == 200
    response = client.post("/agent/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/agent/login"
    assert client.get("/agent/").status_code == 303


def test_agent_name_is_escaped_in_the_console(client: TestClient) -> None:
    assert login(client, "eve", "eve-password-1").status_code == 303
    page = client.get("/agent/")
    assert page.status_code == 200
    assert HOSTILE_NAME not in page.text
    assert "Eve &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page.text


def test_console_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/agent/console.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert ".stage" in response.text
