"""Real `ddx serve` processes on loopback ports, on SQLite and on PostgreSQL:

* a feedback post answered 200 is on disk: the server is killed with SIGKILL right after the answer (no shutdown, no
  flush), restarted, and the entry is there;
* two servers on one database share the seen JWT ids: a token one of them accepted is refused by the other (replay).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_auth import AUD, ISS, PUBLIC_KEYS, token
from tests.api.test_real_server import free_port
from tests.cds.databases import KINDS, database_url
from tests.cds.test_conformance import SERVICE, cds_request
from tests.conftest import ROOT
from tests.servers import wait_until_healthy

START_TIMEOUT_S = 60.0


@pytest.fixture(params=KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


@contextmanager
def serve(db_url: str, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`ddx serve` (python -m plugin serve: the same command) on a free loopback port, until it answers /health."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "DDX_DATABASE_URL": db_url, "DDX_LOG_LEVEL": "WARNING", **env}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "plugin", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_healthy(proc, base, log, START_TIMEOUT_S)
            yield base, proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


def post(url: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(url, content=json.dumps(body), headers={"content-type": "application/json", **headers}, timeout=30.0)


def test_feedback_answered_200_survives_sigkill(db_url: str) -> None:
    with serve(db_url) as (base, proc):
        card = post(base + SERVICE, cds_request("061-fop-neck-back-bridges-great-toes", "kill-1")).json()["cards"][0]
        entry = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:06:00Z",
                 "overrideReason": {"reason": card["overrideReasons"][2], "userComment": "order is wrong here"}}
        response = post(f"{base}{SERVICE}/feedback", {"feedback": [entry]})
        os.kill(proc.pid, signal.SIGKILL)  # right after the answer: no graceful shutdown, nothing flushed later
        assert response.status_code == 200, response.text
        assert proc.wait(timeout=30) == -signal.SIGKILL
    with serve(db_url) as (base, _):
        summary = httpx.get(f"{base}{SERVICE}/feedback/summary", timeout=30.0).json()
    assert summary["feedback"] == {"accepted": 0, "overridden": 1}
    assert any(r["reason"] == card["overrideReasons"][2]["display"] for d in summary["diagnoses"] for r in d["overrideReasons"])


def test_two_servers_on_one_database_refuse_each_others_replayed_token(db_url: str) -> None:
    auth = {"DDX_AUTH_MODE": "jwt", "DDX_JWT_ISSUERS": json.dumps([ISS]), "DDX_JWT_PUBLIC_KEYS": json.dumps(PUBLIC_KEYS),
            "DDX_PUBLIC_URL": AUD}
    with serve(db_url, **auth) as (one, _), serve(db_url, **auth) as (other, _):
        assert httpx.get(one + "/cds-services", timeout=30.0).status_code == 401, "discovery requires authentication too"
        tok = token()
        first = httpx.get(one + "/cds-services", headers={"authorization": f"Bearer {tok}"}, timeout=30.0)
        assert first.status_code == 200, first.text
        replayed = httpx.get(other + "/cds-services", headers={"authorization": f"Bearer {tok}"}, timeout=30.0)
        assert replayed.status_code == 401
        assert "already been used" in replayed.json()["issue"][0]["diagnostics"]
        fresh = httpx.get(other + "/cds-services", headers={"authorization": f"Bearer {token()}"}, timeout=30.0)
        assert fresh.status_code == 200
