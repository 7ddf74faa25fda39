"""Alembic migrations of the rad-ddx database (applied by plugin.store.db.migrate)."""
