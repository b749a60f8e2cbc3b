"""Alembic environment of the store.

Normally :mod:`cobrowse.store.migrate` hands over an open synchronous connection (from the async engine's
``run_sync``) in ``config.attributes["connection"]``, and the migrations run on it. Without one (Alembic used
by hand during development) the URL in ``config.attributes["url"]`` is opened with the store's own async
engine in a fresh event loop. Offline mode (``--sql``) renders the SQL for that URL.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import Connection

from cobrowse.store.engine import create_engine, normalise_url
from cobrowse.store.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, item: Any, autogen_context: Any) -> str | bool:
    """Render our UTCDateTime as the plain column type it is, so scripts do not import application code."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    "render_as_batch": True,  # SQLite can only alter tables by copying them
    "compare_type": True,
    "render_item": _render_item,
}


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a connection or a URL to cobrowse.store.migrate.alembic_config")
    return str(url)


if context.is_offline_mode():
    context.configure(url=normalise_url(_url()), literal_binds=True, **_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()
else:
    shared = config.attributes.get("connection")
    if shared is not None:
        _run(shared)
    else:
        asyncio.run(_run_with_url(_url()))
