"""The database: an Engine for DDX_DATABASE_URL with durable settings, and the schema brought to the newest migration.

Durability (a feedback post answered 2xx is never lost):
- SQLite: journal_mode=WAL (readers never block the writer, so several workers share the file) and synchronous=FULL
  (WAL's default NORMAL may lose the last commits on power loss; FULL syncs the WAL at every commit), busy_timeout so a
  writer waits for another instead of failing, foreign_keys on.
- PostgreSQL: its defaults, fsync=on and synchronous_commit=on: COMMIT returns once the WAL is flushed to disk. Nothing
  is set here; a server configured with fsync=off or synchronous_commit=off would break the promise, so don't.
Every write runs in `engine.begin()`, which commits before the caller answers.
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text

MIGRATIONS = Path(__file__).parent / "migrations"
PG_MIGRATION_LOCK = 7_310_012  # pg_advisory_xact_lock key: one migrator at a time across hosts


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An Engine for the URL; SQLite files get the durable pragmas above on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 10.0})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe when several workers or hosts start at once."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # no "Running upgrade" lines at every start
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        return
    database = engine.url.database
    lock_path = Path(f"{database}.migrate-lock") if database and database != ":memory:" else None
    lock = open(lock_path, "a+b") if lock_path else None  # noqa: SIM115 (held for the duration of the upgrade)
    try:
        if lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if lock:
            lock.close()


def open_database(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine
