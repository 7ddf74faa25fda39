"""The real server, once: `python -m plugin serve` on a loopback port, spoken to over a socket with httpx."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import MINI_PACKS, ROOT, mini_doc
from tests.servers import wait_until_healthy

FHIR_JSON = "application/fhir+json; fhirVersion=4.0"
LIMIT = 4096
DEADLINE = 1  # seconds, for headers and for a body: the tests wait many times longer before calling a connection held
HELD = 30.0  # a socket read that outlasts this means the server kept a slow connection open
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(log_lines: list[str]) -> Iterator[str]:
    """`python -m plugin serve` on a free loopback port until the block ends; its log lines are appended to log_lines."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DDX_MAPPINGS_DIR": str(MINI_PACKS), "DDX_MAX_BODY_BYTES": str(LIMIT), "DDX_LOG_LEVEL": "info",
           "DDX_HEADER_TIMEOUT_SECONDS": str(DEADLINE), "DDX_BODY_TIMEOUT_SECONDS": str(DEADLINE)}
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
            wait_until_healthy(proc, base, log, START_TIMEOUT_S)
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
            log_lines.extend(output.splitlines())
            assert "Traceback" not in output, output[-3000:]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving([]) as base:
        yield base


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


def test_head_health_over_a_socket(server: str) -> None:
    r = httpx.head(f"{server}/health", timeout=5)
    assert r.status_code == 200
    assert r.content == b""


def raw_exchange(server: str, sent: bytes) -> bytes:
    """Send bytes, then read until the server closes the connection (or HELD seconds pass: a failure)."""
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=HELD) as sock:
        if sent:
            sock.sendall(sent)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pytest.fail(f"the server held a slow connection open for {HELD:.0f} s: {received[:200]!r}")
    return received


def test_headers_that_never_end_get_408_and_a_closed_connection(server: str) -> None:
    answer = raw_exchange(server, b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"OperationOutcome" in answer


def test_a_body_that_never_ends_gets_408_and_a_closed_connection(server: str) -> None:
    head = b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    answer = raw_exchange(server, head + b'{"patient": ')
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_a_connection_that_sends_nothing_is_closed(server: str) -> None:
    assert raw_exchange(server, b"") == b""


def test_the_trailing_slash_redirect_does_not_reflect_the_host(server: str) -> None:
    answer = raw_exchange(server, b"GET /health/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 404 "), answer[:200]
    assert b"evil.example" not in answer


def test_third_party_lines_keep_their_numbers() -> None:
    """uvicorn's 'Started server process [%d]' was logged with the %d: arguments that are numbers are kept."""
    lines: list[str] = []
    with serving(lines) as base:
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200
    events = [json.loads(line)["event"] for line in lines if line.startswith("{")]
    process = [e for e in events if "server process" in e]
    assert len(process) == 2 and all("%d" not in e and e.rstrip("]").split("[")[-1].isdigit() for e in process), events
