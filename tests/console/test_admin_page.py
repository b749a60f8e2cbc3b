"""The console's administration page, /agent/admin: for administrators only, with the console's headers.

Runs the real app (``create_app``) on a temporary SQLite database with the demo agent (an administrator) and
``plain`` (an agent without the admin permission) seeded, through Starlette's test client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from cobrowse.app import create_app
from cobrowse.config import Config, ensure_secret
from cobrowse.console.routes import CONSOLE_CSP
from cobrowse.store import Store

ORIGIN = "http://testserver"


async def _seed(config: Config) -> None:
    store = await Store.open(config.effective_database_url)
    try:
        await store.upgrade()
        await store.seed_demo()
        await store.create_agent("plain", "plain-password-1", name="Plain Agent", groups=[1])
    finally:
        await store.close()


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    data_dir: Path = tmp_path_factory.mktemp("admin-page")
    cfg = ensure_secret(Config(data_dir=str(data_dir), log_level="warning"))
    asyncio.run(_seed(cfg))
    return cfg


@pytest.fixture
def client(config: Config) -> Iterator[TestClient]:
    with TestClient(create_app(config), base_url=ORIGIN, follow_redirects=False) as test_client:
        yield test_client


def login(client: TestClient, username: str, password: str) -> None:
    response = client.post("/agent/login", data={"username": username, "password": password})
    assert response.status_code == 303, response.text


def assert_console_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CONSOLE_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_not_signed_in_goes_to_the_login_form_and_back(client: TestClient) -> None:
    response = client.get("/agent/admin")
    assert response.status_code == 303
    assert response.headers["location"] == "/agent/login?next=/agent/admin"


def test_an_agent_without_the_admin_permission_gets_403(client: TestClient) -> None:
    login(client, "plain", "plain-password-1")
    response = client.get("/agent/admin")
    assert response.status_code == 403
    assert "administrators" in response.text
    assert_console_headers(response)
    # and the console shows no link to it
    console = client.get("/agent/")
    assert console.status_code == 200
    assert '<a class="btn btn-link" id="cb-admin-link" href="/agent/admin" hidden>' in console.text


def test_an_administrator_gets_the_page_with_the_console_headers(client: TestClient) -> None:
    login(client, "demo", "demo-password")
    response = client.get("/agent/admin")
    assert response.status_code == 200
    assert_console_headers(response)
    assert response.headers["cache-control"] == "no-store"
    assert '<script src="/static/admin.js" defer></script>' in response.text
    assert 'id="adm-create"' in response.text
    console = client.get("/agent/")
    assert '<a class="btn btn-link" id="cb-admin-link" href="/agent/admin" >' in console.text


def test_the_admin_bundle_is_served(client: TestClient) -> None:
    response = client.get("/static/admin.js")
    assert response.status_code == 200
    assert "/api/v1" in response.text
    assert "innerHTML" not in response.text
