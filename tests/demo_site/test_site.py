"""The demo website app on its own: pages, the script tag, extra pages, 404s and caching."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cobrowse.demo_site import PLACEHOLDER, create_site_app, page_names, script_tag

TAG = script_tag("http://127.0.0.1:9999")
BUILT_IN = ["custom", "form", "index", "live", "long"]


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_site_app(TAG))


def test_script_tag_points_at_the_server_and_names_the_group() -> None:
    assert TAG == (
        '<script id="glance-cobrowse" src="http://127.0.0.1:9999/static/visitor.js" '
        'data-groupid="1"></script>'
    )
    assert 'data-groupid="7"' in script_tag("http://h:1/", group_id=7)
    assert 'src="http://h:1/static/visitor.js"' in script_tag("http://h:1/")


def test_every_built_in_page_carries_the_script_tag_once(client: TestClient) -> None:
    assert page_names() == BUILT_IN
    for name in BUILT_IN:
        response = client.get(f"/{name}.html")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-store"
        # (a page may add data-* attributes to its tag: {{COBROWSE_SCRIPT data-ui="custom"}})
        assert response.text.count(TAG.removesuffix("></script>")) == 1, name
        assert "{{COBROWSE_SCRIPT" not in response.text


def test_root_and_bare_names_serve_the_same_pages(client: TestClient) -> None:
    assert client.get("/").text == client.get("/index.html").text
    assert client.get("/form").text == client.get("/form.html").text


def test_form_page_masks_card_fields(client: TestClient) -> None:
    text = client.get("/form.html").text
    for field in ('id="card-number"', 'id="cvc"'):
        line = next(line for line in text.splitlines() if field in line)
        assert 'class="glance_masked"' in line
    for field in (
        'id="name"',
        'id="email"',
        'id="expiry"',
        'type="password"',
        "<select",
        'type="checkbox"',
        "<textarea",
    ):
        assert field in text


def test_unknown_and_unsafe_paths_are_404(client: TestClient) -> None:
    for path in ("/nope.html", "/nope", "/..%2Fsite.py", "/.hidden", "/assets/../site.py", "/index.htm"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "glance-cobrowse" not in response.text


def test_assets_are_served(client: TestClient) -> None:
    assert client.get("/assets/site.css").status_code == 200
    logo = client.get("/assets/logo.svg")
    assert logo.status_code == 200
    assert logo.headers["content-type"].startswith("image/svg")


def test_placeholder_may_add_data_attributes_to_the_tag(tmp_path: Path) -> None:
    (tmp_path / "paused.html").write_text('{{COBROWSE_SCRIPT data-ui="custom" data-startpaused="1"}}')
    (tmp_path / "bad.html").write_text(
        '{{COBROWSE_SCRIPT onload="alert(1)"}}|{{COBROWSE_SCRIPT data-x="<b>"}}'
    )
    client = TestClient(create_site_app(TAG, extra_pages=tmp_path))
    assert client.get("/paused.html").text == TAG.replace(
        "></script>", ' data-ui="custom" data-startpaused="1"></script>'
    )
    # Anything but data-* attributes with plain values is not a placeholder: left as it is, never a tag.
    assert (
        client.get("/bad.html").text
        == '{{COBROWSE_SCRIPT onload="alert(1)"}}|{{COBROWSE_SCRIPT data-x="<b>"}}'
    )


def test_extra_pages_add_and_override(tmp_path: Path) -> None:
    (tmp_path / "extra.html").write_text("<p>extra</p>" + PLACEHOLDER)
    (tmp_path / "form.html").write_text("<p>test form</p>" + PLACEHOLDER)
    (tmp_path / "notes.txt").write_text("not a page")
    client = TestClient(create_site_app(TAG, extra_pages=tmp_path))
    assert client.get("/extra.html").text == "<p>extra</p>" + TAG
    assert client.get("/form.html").text == "<p>test form</p>" + TAG
    assert "Northwind" in client.get("/long.html").text
    assert client.get("/notes.txt").status_code == 404
    assert page_names(tmp_path) == sorted([*BUILT_IN, "extra"])


def test_missing_extra_pages_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        create_site_app(TAG, extra_pages=tmp_path / "missing")


def test_demo_prints_the_site_on_another_host_than_the_server() -> None:
    # Cookies ignore ports: the site and the server must differ by host name too, whichever the server uses.
    from cobrowse.demo import _site_host, banner

    assert _site_host("http://127.0.0.1:8000") == "localhost"
    assert _site_host("http://localhost:8000") == "127.0.0.1"
    assert _site_host("https://cobrowse.example.com") == "localhost"
    text = banner("http://127.0.0.1:8000", "http://localhost:8001")
    assert "http://127.0.0.1:8000/agent/" in text
    assert "demo / demo-password" in text
    assert text.splitlines()[-1] == "COBROWSE READY server=http://127.0.0.1:8000 site=http://localhost:8001"
