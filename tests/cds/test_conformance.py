"""Every CDS response checked against the specification's schemas and card rules; the specification's own examples too."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plugin import load_knowledge
from plugin.api.app import create_app
from plugin.engine import result_of
from plugin.settings import Settings
from plugin.write.cds_card import card_markdown, card_summary, md
from tests.cds.conformance import example, invariant_failures, response_problems, schema_errors
from tests.conftest import SAMPLES, load_sample

SERVICE = "/cds-services/soft-tissue-calcification"
HOOK = "org.rad-ddx.diagnosticreport-review"
OUTCOME = "application/fhir+json; fhirVersion=4.0"


PACK_VERSION = load_knowledge().packs[0].version


def cds_request(sample: str, hook_instance: str = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", **context: Any) -> dict[str, Any]:
    return {"hook": HOOK, "hookInstance": hook_instance,
            "context": {"userId": "Practitioner/example", "patientId": "1288992", "findings": load_sample(sample)} | context}


@pytest.fixture(scope="module")
def cds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('cds') / 'ddx.sqlite3'}"
    with TestClient(create_app(Settings(database_url=url)), raise_server_exceptions=False) as client:
        yield client


# --- the specification's own examples: the schemas and invariants are right ---------------------------------

@pytest.mark.parametrize(("kind", "name"), [
    ("discovery", "discovery-example.json"), ("request", "request-patient-view.json"), ("response", "response-example.json"),
    ("response", "response-empty.json"), ("feedback", "feedback-accepted.json"), ("feedback", "feedback-overridden.json"),
    ("feedback", "feedback-overridden-with-reason.json"),
])
def test_the_specifications_examples_pass_the_schemas(kind: str, name: str) -> None:
    assert schema_errors(kind, example(name)) == []
    if kind == "response":
        assert invariant_failures(example(name)) == []


@pytest.mark.parametrize(("change", "rule"), [
    (lambda c: c.update(summary="x" * 140), "summary-length"),
    (lambda c: c.update(indicator="hard-stop"), "indicator"),
    (lambda c: c.update(suggestions=[{"label": "a", "actions": [{"type": "create", "description": "d", "resource": {"resourceType": "X"}}]}]),
     "selection-behavior"),
    (lambda c: c.update(suggestions=[{"label": "a", "actions": [{"type": "delete"}]}], selectionBehavior="any"), "action-description"),
    (lambda c: c.update(overrideReasons=[{"system": "s", "code": "c"}]), "override-display"),
])
def test_the_checks_catch_each_broken_rule(change: Any, rule: str) -> None:
    response = copy.deepcopy(example("response-example.json"))
    change(response["cards"][1])
    assert rule in " ".join(invariant_failures(response))
    assert schema_errors("response", response), "the schema says it too"


def test_summary_139_characters_pass_140_fail() -> None:
    response = copy.deepcopy(example("response-example.json"))
    response["cards"][0]["summary"] = "x" * 139
    assert response_problems(response) == []
    response["cards"][0]["summary"] = "x" * 140
    assert len(response_problems(response)) == 2  # schema maxLength and the FHIRPath invariant


def test_the_specifications_request_for_another_hook_is_refused(cds: TestClient) -> None:
    response = cds.post(SERVICE, json=example("request-patient-view.json"))
    assert response.status_code == 400
    assert response.headers["content-type"] == OUTCOME
    paths = {e for i in response.json()["issue"] for e in i.get("expression", [])}
    assert {"hook", "context.findings"} <= paths


# --- the service -----------------------------------------------------------------------------------------------

def test_discovery(cds: TestClient) -> None:
    body = cds.get("/cds-services").json()
    assert schema_errors("discovery", body) == []
    [service] = body["services"]
    assert service["hook"] == HOOK and service["id"] == "soft-tissue-calcification"
    assert service["title"] and "userId" in service["description"] and "findings" in service["description"]
    assert "prefetch" not in service


@pytest.mark.parametrize(("sample", "indicator"), [
    ("061-fop-neck-back-bridges-great-toes", "warning"),  # FOP possible: no biopsy
    ("045-hftc-hip-fluid-levels", "info"),
    ("038-ckd-calcinosis-peritoneal-dialysis", "info"),
])
def test_a_card_per_in_scope_report(cds: TestClient, sample: str, indicator: str) -> None:
    request = cds_request(sample)
    assert schema_errors("request", request) == []
    response = cds.post(SERVICE, json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert response_problems(body) == []
    [card] = body["cards"]
    assert card["indicator"] == indicator
    assert card["summary"].startswith("Differential: ") and len(card["summary"]) < 140
    assert card["source"]["label"].endswith(f"(knowledge pack soft-tissue-calcification {PACK_VERSION})")
    assert card["selectionBehavior"] == "at-most-one"
    [suggestion] = card["suggestions"]
    assert suggestion["label"] == "Add the differential to the report"
    [action] = suggestion["actions"]
    report = action["resource"]
    assert action["type"] == "create" and report["resourceType"] == "DiagnosticReport"
    contained = {r["id"] for r in report["contained"]}
    references = {v for v in values(report, "reference") if v.startswith("#")}
    assert references and all(r == "#" or r[1:] in contained for r in references), "every local reference resolves"
    assert all(link["type"] == "absolute" and link["url"].endswith("/docs") for link in card["links"])
    lines = [line for line in card["detail"].splitlines() if line[:1].isdigit()]
    assert len(lines) == sum(r["resourceType"] == "Condition" for r in report["contained"]) > 0, "one line per diagnosis"


def values(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                yield v
            yield from values(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from values(v, key)


def test_out_of_scope_gives_no_card(cds: TestClient) -> None:
    response = cds.post(SERVICE, json=cds_request("066-oos-jdm-muscle-edema-no-calcinosis"))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_the_same_hook_instance_gives_the_same_uuids(cds: TestClient) -> None:
    first = cds.post(SERVICE, json=cds_request("007-mo-thigh-after-contusion", "hook-1")).json()["cards"][0]
    again = cds.post(SERVICE, json=cds_request("007-mo-thigh-after-contusion", "hook-1")).json()["cards"][0]
    other = cds.post(SERVICE, json=cds_request("007-mo-thigh-after-contusion", "hook-2")).json()["cards"][0]
    assert (first["uuid"], first["suggestions"][0]["uuid"]) == (again["uuid"], again["suggestions"][0]["uuid"])
    assert first["uuid"] != other["uuid"] and first["suggestions"][0]["uuid"] != other["suggestions"][0]["uuid"]
    assert first["suggestions"][0]["uuid"] != first["uuid"]


@pytest.mark.parametrize(("change", "status", "path"), [
    (lambda r: r.pop("hookInstance"), 400, "hookInstance"),
    (lambda r: r["context"].pop("userId"), 400, "context.userId"),
    (lambda r: r["context"].pop("findings"), 400, "context.findings"),
    (lambda r: r.update(hook="patient-view"), 400, "hook"),
    (lambda r: r.update(context=[]), 400, "context"),
    (lambda r: r["context"]["findings"].pop("patient"), 422, "context.findings.patient"),
    (lambda r: r["context"]["findings"]["findings"][0].update(status="maybe"), 422, "context.findings.findings[0].status"),
])
def test_invalid_requests_get_an_operation_outcome(cds: TestClient, change: Any, status: int, path: str) -> None:
    request = cds_request("007-mo-thigh-after-contusion")
    change(request)
    response = cds.post(SERVICE, json=request)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == OUTCOME
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert any(path in i.get("expression", []) for i in body["issue"]), body


def test_not_json_and_unknown_service(cds: TestClient) -> None:
    response = cds.post(SERVICE, content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"
    response = cds.post("/cds-services/no-such-pack", json=cds_request("007-mo-thigh-after-contusion"))
    assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"


# --- the card writer -------------------------------------------------------------------------------------------

def test_markdown_escapes_report_and_pack_text() -> None:
    catalog = load_knowledge()
    result = result_of(load_sample("007-mo-thigh-after-contusion"), catalog)
    pack = result.packs[0]
    evil = "<img src=x onerror=alert(1)> *bold* [link](http://x) `code` | pipe"
    first = dataclasses.replace(pack.candidates[0], display=evil)
    changed = dataclasses.replace(result, packs=(dataclasses.replace(pack, candidates=(first, *pack.candidates[1:])),))
    text = card_markdown(changed)
    assert md(evil) in text
    for raw in ("<img", "*bold", "[link", "`code", "| pipe"):
        assert not re.search(r"(?<!\\)" + re.escape(raw), text), raw  # only ever preceded by a backslash
    assert md("- starts a list") == "\\- starts a list" and md("1. an item") == "1\\. an item"
    lines = [line for line in text.splitlines() if line[:1].isdigit()]
    assert len(lines) == len(pack.candidates), "one line per diagnosis"


def test_summary_never_reaches_140() -> None:
    catalog = load_knowledge()
    pack = result_of(load_sample("007-mo-thigh-after-contusion"), catalog).packs[0]
    long = tuple(dataclasses.replace(c, display="Very long diagnosis name " * 8) for c in pack.candidates)
    assert len(card_summary(dataclasses.replace(pack, candidates=long))) < 140
    assert len(card_summary(pack)) < 140


def test_every_sample_card_conforms(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(database_url=f"sqlite:///{tmp_path / 'd.sqlite3'}"))) as client:
        for path in sorted(SAMPLES.rglob("*.json")):
            if path.name.endswith(".expected.json"):
                continue
            request = {"hook": HOOK, "hookInstance": path.stem, "context": {"userId": "Practitioner/1",
                                                                            "findings": json.loads(path.read_text())}}
            response = client.post(SERVICE, json=request)
            assert response.status_code == 200, (path, response.text)
            assert response_problems(response.json()) == [], path


def test_with_authentication_on_every_cds_endpoint_requires_it(tmp_path: Path) -> None:
    key = "k3y-" + "0123456789abcdef" * 2
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}", auth_mode="api-key", api_keys=[key])
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        calls = [("GET", "/cds-services", None), ("POST", SERVICE, cds_request("045-hftc-hip-fluid-levels")),
                 ("POST", f"{SERVICE}/feedback", {"feedback": []}), ("GET", f"{SERVICE}/feedback/summary", None)]
        for method, path, body in calls:
            assert client.request(method, path, json=body).status_code == 401, path
            assert client.request(method, path, json=body, headers={"X-API-Key": key}).status_code in (200, 400), path


def test_no_request_text_or_identifier_is_logged(cds: TestClient, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    request = cds_request("045-hftc-hip-fluid-levels", "hook-SECRET-7f3a", userId="Practitioner/SECRET-user", patientId="SECRET-patient")
    card = cds.post(SERVICE, json=request).json()["cards"][0]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:06:00Z",
                              "overrideReason": {"userComment": "SECRET comment"}}]}
    assert cds.post(f"{SERVICE}/feedback", json=feedback).status_code == 200
    logged = capfd.readouterr().err + capfd.readouterr().out + caplog.text
    assert "/feedback" in logged, "the requests were logged"
    for secret in ("SECRET", card["uuid"], "hook-SECRET-7f3a"):
        assert secret not in logged
