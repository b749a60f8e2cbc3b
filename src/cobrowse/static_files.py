"""The bundles under ``/static``: public assets any site may load, including with ``crossorigin``.

``Access-Control-Allow-Origin: *`` lets a site load the visitor script as a CORS script (and see real error
messages instead of "Script error."); nothing under /static is private or depends on cookies.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


class PublicStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "no-cache")
        return response
