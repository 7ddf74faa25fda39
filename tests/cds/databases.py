"""The databases the CDS tests run against: a SQLite file (always) and PostgreSQL (when DDX_TEST_DATABASE_URL names a
server the tests may create databases on; .ci/run starts one). Without it the PostgreSQL cases skip with the reason
locally and fail when CI=true."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

PG_ENV = "DDX_TEST_DATABASE_URL"
KINDS = ["sqlite", "postgresql"]


def postgres_admin_url() -> str:
    url = os.environ.get(PG_ENV, "")
    if url:
        return url
    reason = (f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres, a role that may "
              "CREATE DATABASE); .ci/run installs PostgreSQL and sets it")
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " [CI=true: not skipping]", pytrace=False)
    pytest.skip(reason)


def fresh_postgres() -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    admin = make_url(postgres_admin_url())
    name = f"ddx_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin.set(database=name).render_as_string(hide_password=False)
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'ddx.sqlite3'}"
    else:
        yield from fresh_postgres()
