"""The demo website's ASGI app: HTML pages with the visitor script tag filled in, plus a few assets.

Pages are plain files (``pages/<name>.html``) so they read like any customer's site; the only templating is
the ``{{COBROWSE_SCRIPT}}`` placeholder, which becomes the ``<script id="glance-cobrowse" ...>`` tag pointing
at the server. ``extra_pages`` lets the browser tests add their own pages (or replace ours) without
touching the package. Pages are sent with ``Cache-Control: no-store`` so that every load runs the current
visitor script, which is what a session continuing across page loads is about.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

#: The marker in a page that the site replaces with the visitor script tag.
PLACEHOLDER = "{{COBROWSE_SCRIPT}}"
#: The marker with extra ``data-*`` attributes for that page's tag, as a site would write them on its own tag:
#: ``{{COBROWSE_SCRIPT data-ui="custom" data-startpaused="1"}}``. Only ``data-*`` attributes with plain values.
_PLACEHOLDER_WITH_ATTRS = re.compile(r'\{\{COBROWSE_SCRIPT((?:\s+data-[a-z0-9-]+="[^"<>&]*")*)\s*\}\}')
_DATA_ATTR = re.compile(r'data-[a-z0-9-]+="[^"<>&]*"')

PACKAGE_DIR = Path(__file__).resolve().parent
PAGES_DIR = PACKAGE_DIR / "pages"
ASSETS_DIR = PACKAGE_DIR / "assets"

#: Page names are one path segment of safe characters, so a request can never reach outside the page folders.
_PAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

_NO_STORE = {"Cache-Control": "no-store"}

_NOT_FOUND = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Page not found - Northwind Bank</title>
<link rel="stylesheet" href="/assets/site.css"></head>
<body><main class="container"><h1>Page not found</h1>
<p>There is no page at <code>{path}</code>. <a href="/">Back to the home page</a>.</p></main></body></html>
"""


def script_tag(server_url: str, group_id: int = 1) -> str:
    """The tag a customer pastes into their pages: the SDK from the server, in the given group."""
    src = f"{server_url.rstrip('/')}/static/visitor.js"
    return f'<script id="glance-cobrowse" src="{html.escape(src)}" data-groupid="{int(group_id)}"></script>'


def fill_script_tag(text: str, tag: str) -> str:
    """Replace every placeholder in ``text`` by ``tag``, with the placeholder's extra attributes added to it."""

    def tag_with(match: re.Match[str]) -> str:
        attrs = _DATA_ATTR.findall(match.group(1))
        return tag.replace("></script>", "".join(f" {a}" for a in attrs) + "></script>", 1) if attrs else tag

    return _PLACEHOLDER_WITH_ATTRS.sub(tag_with, text)


def page_names(extra_pages: Path | None = None) -> list[str]:
    """Names of all pages the site serves (without ``.html``), sorted."""
    names = {p.stem for p in PAGES_DIR.glob("*.html")}
    if extra_pages is not None:
        names |= {p.stem for p in extra_pages.glob("*.html")}
    return sorted(n for n in names if _PAGE_NAME.fullmatch(n))


def _find_page(name: str, folders: list[Path]) -> Path | None:
    if not _PAGE_NAME.fullmatch(name):
        return None
    for folder in folders:
        candidate = folder / f"{name}.html"
        if candidate.is_file():
            return candidate
    return None


def create_site_app(script_tag: str, extra_pages: Path | None = None) -> Starlette:
    """Build the demo website app.

    ``script_tag`` replaces ``{{COBROWSE_SCRIPT}}`` in every page. Pages in ``extra_pages`` (a folder of
    ``*.html`` files) are served too and win over the built-in pages of the same name. ``/`` is ``index``;
    ``/name`` and ``/name.html`` are the same page; anything else is a 404.
    """
    if extra_pages is not None and not extra_pages.is_dir():
        raise ValueError(f"site pages folder {extra_pages} does not exist or is not a folder")
    folders = ([extra_pages.resolve()] if extra_pages is not None else []) + [PAGES_DIR]

    async def page(request: Request) -> Response:
        name = request.path_params.get("name", "index")
        if name.endswith(".html"):
            name = name[: -len(".html")]
        path = _find_page(name, folders)
        if path is None:
            body = _NOT_FOUND.format(path=html.escape(request.url.path))
            return HTMLResponse(body, status_code=404, headers=_NO_STORE)
        text = await anyio.Path(path).read_text(encoding="utf-8")
        return HTMLResponse(fill_script_tag(text, script_tag), headers=_NO_STORE)

    routes = [
        Route("/", page),
        Mount("/assets", StaticFiles(directory=ASSETS_DIR), name="assets"),
        Route("/{name:str}", page),
    ]
    return Starlette(routes=routes)
