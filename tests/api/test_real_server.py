"""The real server, once: `python -m plugin serve` on a loopback port, spoken to over a socket with httpx."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import MINI_PACKS, ROOT, mini_doc

FHIR_JSON = "application/fhir+json; fhirVersion=4.0"
LIMIT = 4096
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DDX_MAPPINGS_DIR": str(MINI_PACKS), "DDX_MAX_BODY_BYTES": str(LIMIT), "DDX_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plugin", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"server exited with {proc.returncode}: {log.read().decode(errors='replace')[-2000:]}")
                try:
                    if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"server not ready on {base} within {START_TIMEOUT_S:.0f} s")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            log.seek(0)
            output = log.read().decode(errors="replace")
            assert "Traceback" not in output, output[-3000:]


def test_health_over_a_socket(server: str) -> None:
    r = httpx.get(f"{server}/health", timeout=5)
    assert r.status_code == 200
    assert r.json()["status"] == "ready"
    assert r.json()["packs"] == ["mini@1.0.0"]


def test_evaluate_over_a_socket(server: str) -> None:
    r = httpx.post(f"{server}/evaluate", json=mini_doc(), headers={"x-request-id": "real-1"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == FHIR_JSON
    assert r.headers["x-request-id"] == "real-1"
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert bundle["entry"][0]["resource"]["resourceType"] == "DiagnosticReport"


def test_broken_json_over_a_socket(server: str) -> None:
    body = json.dumps(mini_doc()).encode()[:-5]
    r = httpx.post(f"{server}/evaluate", content=body, headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 400
    assert r.headers["content-type"] == FHIR_JSON
    assert r.json()["resourceType"] == "OperationOutcome"
    assert "Traceback" not in r.text


def test_body_over_the_limit_over_a_socket(server: str) -> None:
    r = httpx.post(f"{server}/validate", content=b" " * (LIMIT + 1), headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 413
    assert r.headers["content-type"] == FHIR_JSON
    assert r.json()["issue"][0]["code"] == "too-long"
