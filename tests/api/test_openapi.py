"""The OpenAPI document tells the truth: the request body is the findings schema, every status is declared with an
OperationOutcome, no FastAPI default error model is left, and every reference resolves."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import referencing
from fastapi.testclient import TestClient
from referencing.jsonschema import DRAFT202012

from plugin.knowledge.catalog import Catalog
from tests.conftest import mini_doc, values_of

POST_STATUSES = {"400", "401", "403", "404", "405", "406", "413", "415", "422", "500"}
GET_STATUSES = {"401", "403", "404", "405", "406", "500"}
OUTCOME_REF = "#/components/schemas/OperationOutcome"
FINDINGS_REF = "#/components/schemas/FindingsReport"
FHIR_JSON = "application/fhir+json; fhirVersion=4.0"


@pytest.fixture(scope="module")
def spec(mini_client: TestClient) -> dict[str, Any]:
    r = mini_client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete", "head", "options"):
                yield path, method, op


def refs(node: Any) -> Iterator[str]:
    return values_of(node, "$ref")


def resolve(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"not a local reference: {ref}"
    node: Any = spec
    for raw in ref[2:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def findings_validator(spec: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for the request body exactly as the OpenAPI document states it."""
    registry = referencing.Registry().with_resource("urn:openapi", referencing.Resource(contents=spec, specification=DRAFT202012))
    return jsonschema.Draft202012Validator(
        {"$ref": f"urn:openapi{FINDINGS_REF}"}, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_the_expected_operations_are_documented(spec: dict[str, Any]) -> None:
    found = {(p, m) for p, m, _ in operations(spec)}
    assert {("/evaluate", "post"), ("/validate", "post"), ("/knowledge", "get"), ("/health", "get"), ("/schemas/findings-report", "get")} <= found


@pytest.mark.parametrize("path", ["/evaluate", "/validate"])
def test_request_body_is_the_findings_report(spec: dict[str, Any], path: str) -> None:
    body = spec["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"] == {"application/json": {"schema": {"$ref": FINDINGS_REF}}}


def test_findings_report_component_is_the_findings_schema(spec: dict[str, Any], mini: Catalog) -> None:
    schemas = spec["components"]["schemas"]
    report = schemas["FindingsReport"]
    assert report["type"] == "object"
    assert sorted(report["required"]) == ["findings", "patient"]  # studies optional since 1.1 (clinical-only documents)
    assert report["additionalProperties"] is False
    # every $defs entry of the loaded (tightened) schema is a FindingsReport_* component, and nothing else is
    parts = {name.removeprefix("FindingsReport_") for name in schemas if name.startswith("FindingsReport_")}
    assert parts == set(mini.findings_schema["$defs"])
    # the same content, with '#/$defs/x' turned into '#/components/schemas/FindingsReport_x'
    text = json.dumps(dict(mini.findings_schema)).replace('"#/$defs/', '"#/components/schemas/FindingsReport_')
    expected = json.loads(text)
    for name, definition in expected.pop("$defs").items():
        assert schemas[f"FindingsReport_{name}"] == definition
    expected.pop("$schema", None)
    assert {k: v for k, v in report.items() if k != "$id"} == {k: v for k, v in expected.items() if k != "$id"}
    assert "$defs" not in report


def test_findings_report_component_carries_the_pack_vocabulary(spec: dict[str, Any]) -> None:
    attributes = spec["components"]["schemas"]["FindingsReport_attributes"]
    assert attributes["additionalProperties"] is False
    assert attributes["properties"]["mineral"]["enum"] == ["bone", "calcium"]
    assert attributes["properties"]["pattern"]["type"] == "array"


def test_findings_report_component_validates_like_the_service(spec: dict[str, Any]) -> None:
    validator = findings_validator(spec)
    assert list(validator.iter_errors(mini_doc())) == []
    for broken in (
        {},
        mini_doc(extra=1),
        mini_doc(patient={"sex": "martian"}),
        mini_doc(studies=[{"id": "s1", "modality": "CR", "date": "2024-02-30"}]),
    ):
        assert list(validator.iter_errors(broken)), broken
    doc = mini_doc()
    doc["findings"][0]["attributes"]["mineral"] = "granite"
    assert list(validator.iter_errors(doc))
    doc = mini_doc()
    doc["findings"][0]["attributes"]["colour"] = "bone"
    assert list(validator.iter_errors(doc))


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/evaluate", "post", POST_STATUSES),
        ("/validate", "post", POST_STATUSES),
        ("/knowledge", "get", GET_STATUSES),
        ("/health", "get", GET_STATUSES),
        ("/schemas/findings-report", "get", GET_STATUSES),
    ],
)
def test_error_statuses_are_declared_with_operation_outcome(spec: dict[str, Any], path: str, method: str, statuses: set[str]) -> None:
    responses = spec["paths"][path][method]["responses"]
    assert statuses <= set(responses)
    for status in statuses:
        content = responses[status]["content"]
        assert content == {FHIR_JSON: {"schema": {"$ref": OUTCOME_REF}}}, (status, content)
        assert responses[status]["description"]


def test_every_operation_declares_its_error_statuses(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        wanted = POST_STATUSES if method == "post" else GET_STATUSES
        missing = wanted - set(op["responses"])
        assert not missing, f"{method.upper()} {path} lacks {sorted(missing)}"
        for status in wanted:
            assert OUTCOME_REF in list(refs(op["responses"][status])), f"{method.upper()} {path} {status}"


@pytest.mark.parametrize(("path", "schema"), [("/evaluate", "Bundle"), ("/validate", "OperationOutcome")])
def test_success_is_fhir_json(spec: dict[str, Any], path: str, schema: str) -> None:
    ok = spec["paths"][path]["post"]["responses"]["200"]["content"]
    assert list(ok) == [FHIR_JSON]
    assert ok[FHIR_JSON]["schema"]["$ref"] == f"#/components/schemas/{schema}"


@pytest.mark.parametrize(("path", "document"), [("/evaluate", "valid"), ("/validate", "valid"), ("/validate", "invalid")])
def test_success_schema_accepts_the_real_answer(spec: dict[str, Any], mini_client: TestClient, path: str, document: str) -> None:
    doc = mini_doc() if document == "valid" else mini_doc(extra=1)
    response = mini_client.post(path, json=doc)
    assert response.status_code == 200
    schema = spec["paths"][path]["post"]["responses"]["200"]["content"][FHIR_JSON]["schema"]
    registry = referencing.Registry().with_resource("urn:openapi", referencing.Resource(contents=spec, specification=DRAFT202012))
    rooted = json.loads(json.dumps(schema).replace('"#/', '"urn:openapi#/'))
    errors = list(jsonschema.Draft202012Validator(rooted, registry=registry).iter_errors(response.json()))
    assert errors == []


def test_no_fastapi_default_validation_error_remains(spec: dict[str, Any]) -> None:
    text = json.dumps(spec)
    assert "HTTPValidationError" not in text
    assert "#/components/schemas/ValidationError" not in text
    assert "ValidationError" not in spec["components"]["schemas"]


def test_every_ref_resolves(spec: dict[str, Any]) -> None:
    found = sorted(set(refs(spec)))
    assert OUTCOME_REF in found and FINDINGS_REF in found
    assert "#/components/schemas/FindingsReport_coding" in found
    for ref in found:
        assert isinstance(resolve(spec, ref), dict), ref
    assert not any(r.startswith("#/$defs/") for r in found)


def test_operation_outcome_schema_accepts_what_the_service_sends(spec: dict[str, Any], mini_client: TestClient) -> None:
    schema = copy.deepcopy(spec["components"]["schemas"]["OperationOutcome"])
    for response in (mini_client.get("/nowhere"), mini_client.post("/evaluate", json={}), mini_client.post("/validate", json=mini_doc())):
        jsonschema.validate(response.json(), schema)
    assert spec["openapi"].startswith("3.1")
