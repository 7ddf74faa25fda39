"""Unexpected internal errors answer an opaque OperationOutcome (500 with an incident id that is also logged); CORS on demand."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from plugin import engine
from plugin.api.app import create_app
from plugin.settings import Settings
from tests.conftest import MINI_PACKS, mini_doc


def test_internal_error_is_an_opaque_500_with_an_incident_id_in_the_log(monkeypatch: pytest.MonkeyPatch,
                                                                         capfd: pytest.CaptureFixture[str]) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals ZZLEAKZZ")

    monkeypatch.setattr(engine, "result_of", broken)
    with TestClient(create_app(Settings(mappings_dir=MINI_PACKS)), raise_server_exceptions=False) as client:
        answer = client.post("/evaluate", json=mini_doc())
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/fhir+json; fhirVersion=4.0"
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "exception"
    incident = re.search(r"incident ([0-9a-f-]{36})", outcome["issue"][0]["diagnostics"]).group(1)  # type: ignore[union-attr]
    assert "ZZLEAKZZ" not in answer.text and "Traceback" not in answer.text and "RuntimeError" not in answer.text
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    logged = next(line for line in lines if line.get("incident_id") == incident)
    assert logged["exception_type"] == "RuntimeError" and "ZZLEAKZZ" not in json.dumps(lines)


def test_cors_is_off_by_default_and_configurable() -> None:
    preflight = {"origin": "https://viewer.example", "access-control-request-method": "POST",
                 "access-control-request-headers": "content-type"}
    with TestClient(create_app(Settings(mappings_dir=MINI_PACKS))) as client:
        assert "access-control-allow-origin" not in client.options("/evaluate", headers=preflight).headers
    with TestClient(create_app(Settings(mappings_dir=MINI_PACKS, cors_origins=["https://viewer.example"]))) as client:
        answer = client.options("/evaluate", headers=preflight)
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "https://viewer.example"
        other = client.options("/evaluate", headers={**preflight, "origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_a_client_leaving_mid_body_is_not_a_server_error(capfd: pytest.CaptureFixture[str]) -> None:
    import asyncio

    app = create_app(Settings(mappings_dir=MINI_PACKS))
    sent: list[dict[str, object]] = []

    async def run() -> None:
        async with app.router.lifespan_context(app):
            chunks = [{"type": "http.request", "body": b'{"patient": ', "more_body": True}, {"type": "http.disconnect"}]

            async def receive() -> dict[str, object]:
                return chunks.pop(0) if chunks else {"type": "http.disconnect"}

            async def send(message: dict[str, object]) -> None:
                sent.append(message)

            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
                     "path": "/evaluate", "raw_path": b"/evaluate", "query_string": b"", "root_path": "",
                     "headers": [(b"content-type", b"application/json")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
            await app(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 400
    logged = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert not [line for line in logged if line["level"] == "error"]
