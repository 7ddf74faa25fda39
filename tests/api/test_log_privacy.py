"""Logs never carry request content: a marker sent in every free-text field of every endpoint with a body never shows up.

Endpoints are discovered from the OpenAPI document, so a route added later is covered without editing this test.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plugin.api.app import create_app
from plugin.settings import Settings
from tests.conftest import load_sample, sample_paths

MARKER = "ZZPRIVATEZZ"


def body_endpoints(client: TestClient) -> list[tuple[str, str]]:
    doc = client.get("/openapi.json").json()
    found = [(method, path) for path, ops in doc["paths"].items() for method, op in ops.items() if "requestBody" in op]
    assert found, "no endpoint with a body found in the OpenAPI document"
    return found


def with_marker(node: Any) -> Any:
    """Every free-text value (display, note) and the patient reference carry the marker."""
    if isinstance(node, dict):
        out = {k: with_marker(v) for k, v in node.items()}
        for key in ("display", "note"):
            if key in out and isinstance(out[key], str):
                out[key] = f"{MARKER} {out[key]}"
        if isinstance(out.get("subject"), str):
            out["subject"] = f"Patient/{MARKER}"
        return out
    if isinstance(node, list):
        return [with_marker(v) for v in node]
    return node


def documents() -> list[Any]:
    valid = with_marker(load_sample(sample_paths()[0].stem))
    for finding in valid["findings"]:
        finding["note"] = f"{MARKER} free text"
    unknown_code = copy.deepcopy(valid)
    unknown_code["history"] = [{"id": "h1", "status": "present", "code": {"system": "http://snomed.info/sct", "code": "1234", "display": MARKER}}]
    bad_enum = copy.deepcopy(valid)
    bad_enum["findings"][0]["status"] = MARKER
    bad_property = copy.deepcopy(valid)
    bad_property["findings"][0][MARKER] = MARKER
    bad_date = copy.deepcopy(valid)
    bad_date["studies"][0]["date"] = MARKER
    return [valid, unknown_code, bad_enum, bad_property, bad_date]


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_no_request_content_in_logs(level: str, capfd: pytest.CaptureFixture[str]) -> None:
    with TestClient(create_app(Settings(log_level=level)), raise_server_exceptions=False) as client:
        endpoints = body_endpoints(client)
        statuses = []
        for method, path in endpoints:
            for doc in documents():
                answer = client.request(method.upper(), path, content=json.dumps(doc), headers={"content-type": "application/json"})
                statuses.append(answer.status_code)
            statuses.append(client.request(method.upper(), path, content=b'{"' + MARKER.encode() + b'": NaN}',
                                           headers={"content-type": "application/json"}).status_code)
        # a third-party library logging bound parameters (as database drivers do at debug level)
        logging.getLogger("sqlalchemy.engine").debug("params %s", (MARKER,))
        logging.getLogger("httpx").info("HTTP Request: %s", MARKER)
    logged = capfd.readouterr().err
    assert 200 in statuses and 422 in statuses and 400 in statuses  # the marker reached the service in every kind of answer
    assert logged.count('"event": "request"') >= len(statuses)  # the requests were logged...
    assert MARKER not in logged  # ...without their content
    for line in logged.splitlines():
        json.loads(line)  # one JSON object a line
