"""R5 by negotiation: every output form in R5 equals what the R5 models of fhir.resources make of it, with what changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources import get_fhir_model_class

from plugin import evaluate, terms
from plugin.api.fhir_version import negotiate
from plugin.knowledge.catalog import Catalog
from plugin.write.fhir_r5 import to_r5
from tests.conftest import mini_doc, sample_paths

SHAPES = ("bundle", "contained", "message", "transaction")


def r5_round_trip(resource: dict[str, Any]) -> dict[str, Any]:
    return json.loads(get_fhir_model_class(resource["resourceType"]).model_validate(resource).model_dump_json())  # type: ignore[no-any-return]


def resources(output: dict[str, Any]) -> list[dict[str, Any]]:
    if output["resourceType"] == "Bundle":
        return [e["resource"] for e in output["entry"]]
    return [output, *output.get("contained", [])]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", sample_paths(), ids=lambda p: p.stem)
def test_every_output_in_r5_equals_the_r5_models(path: Path, shape: str, catalog: Catalog) -> None:
    r4 = evaluate(json.loads(path.read_text(encoding="utf-8")), catalog, shape)
    r5 = json.loads(json.dumps(to_r5(r4)))
    assert r5_round_trip(r5) == r5
    for r in resources(r5):
        kind = r["resourceType"]
        if kind == "Condition":
            assert r["clinicalStatus"]["coding"] == [terms.CLINICAL_ACTIVE]
            assert all(set(e) == {"reference"} for e in r.get("evidence", []))
        if kind == "Device":
            assert "deviceName" not in r and r["name"] == [{"value": terms.DEVICE_NAME, "type": "user-friendly-name"}]
        if kind == "DiagnosticReport":
            assert "imagingStudy" not in r and "supportingInfo" not in r
        if kind == "MessageHeader":
            assert r["eventCoding"] == terms.MESSAGE_EVENT_CODE and "endpointUrl" in r["source"]
    assert [r["resourceType"] for r in resources(r5)] == [r["resourceType"] for r in resources(r4)]


def test_conclusion_is_markdown_escaped() -> None:
    r5 = to_r5({"resourceType": "DiagnosticReport", "conclusion": "a *b* [c](d) <x>"})
    assert r5["conclusion"] == r"a \*b\* \[c\]\(d\) \<x\>"


@pytest.mark.parametrize(("accept", "version"), [
    (None, "4.0"), ("application/fhir+json", "4.0"), ("*/*", "4.0"), ("application/fhir+json; fhirVersion=4.0", "4.0"),
    ("application/fhir+json; fhirVersion=5.0", "5.0"), ("application/fhir+json;fhirVersion=5.0.0", "5.0"),
    ("application/fhir+json; fhirVersion=4.0; q=0.5, application/fhir+json; fhirVersion=5.0", "5.0"),
    ("application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=5.0; q=0.1", "5.0"),
    ("application/fhir+json; fhirVersion=3.0", None), ("text/html", None), ("application/fhir+json; fhirVersion=5.0; q=0", None),
])
def test_negotiation_maps_accept_to_a_supported_version(accept: str | None, version: str | None) -> None:
    assert negotiate(accept) == version


def test_http_r5_by_accept_and_versions(mini_client: TestClient) -> None:
    r4 = mini_client.post("/evaluate", json=mini_doc())
    assert r4.headers["content-type"] == "application/fhir+json; fhirVersion=4.0"
    r5 = mini_client.post("/evaluate?shape=message", json=mini_doc(), headers={"accept": "application/fhir+json; fhirVersion=5.0"})
    assert r5.status_code == 200 and r5.headers["content-type"] == "application/fhir+json; fhirVersion=5.0"
    assert r5.json()["entry"][0]["resource"]["eventCoding"] == terms.MESSAGE_EVENT_CODE
    assert r5_round_trip(r5.json()) == r5.json()
    v = mini_client.get("/$versions")
    assert v.status_code == 200
    assert v.json() == {"resourceType": "Parameters", "parameter": [
        {"name": "version", "valueCode": "4.0"}, {"name": "version", "valueCode": "5.0"}, {"name": "default", "valueCode": "4.0"}]}
