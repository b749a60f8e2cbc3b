"""Alembic, driven from code: no ``alembic.ini``, so migrations work from an installed package.

The migration scripts live in ``cobrowse/store/migrations``. :func:`upgrade` and :func:`current_revision` take
a *synchronous* connection (the store passes one through ``AsyncConnection.run_sync``); ``env.py`` uses the
connection it is handed instead of creating an engine, so running migrations inside the server's event loop
never starts a second loop. For development, ``alembic_config(url)`` also serves the plain Alembic commands,
e.g. ``command.revision(alembic_config(url), autogenerate=True, message="...")``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic config for our scripts; ``connection`` (preferred) or ``url`` says where to migrate."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as attributes, not main options: a URL may contain '%', which the ini interpolation would eat.
    config.attributes["connection"] = connection
    config.attributes["url"] = url
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this version of cobrowse."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Bring the schema on ``connection`` up to ``revision``."""
    command.upgrade(alembic_config(connection=connection), revision)


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    return MigrationContext.configure(connection).get_current_revision()
