"""Alembic migration scripts of the store (see ``cobrowse.store.migrate``)."""
