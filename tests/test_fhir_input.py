"""The FHIR input form: every sample as a collection Bundle of Observations gives the same differential as its findings JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

from plugin import engine, terms
from plugin.cli import main
from plugin.knowledge.catalog import Catalog
from plugin.read import fhir_input
from plugin.read.fhir_convert import to_fhir_input
from tests.conftest import load_sample, mini_doc, sample_paths

FIXED = datetime(2026, 1, 2, tzinfo=UTC)


def ids() -> Any:
    n = count(1)
    return lambda: f"00000000-0000-4000-8000-{next(n):012d}"


def as_fhir(document: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    return json.loads(json.dumps(to_fhir_input(document, catalog.attribute_codings)))  # type: ignore[no-any-return]


def issue_paths(output: dict[str, Any]) -> list[str]:
    return [p for e in output["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
            for i in e["resource"]["issue"] for p in i.get("expression", [])]


def with_paths_of(output: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """`output` with its warnings' locations (Bundle elements) replaced by those of `other` (findings paths), in order."""
    text = json.dumps(output)
    mine, theirs = issue_paths(output), issue_paths(other)
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs, strict=True):
        text = text.replace(json.dumps(a)[1:-1], json.dumps(b)[1:-1])
    return json.loads(text)  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", sample_paths(), ids=lambda p: p.stem)
def test_both_forms_of_every_sample_give_the_same_differential(path: Path, catalog: Catalog) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    bundle = as_fhir(document, catalog)
    model = get_fhir_model_class("Bundle")
    assert json.loads(model.model_validate(bundle).model_dump_json()) == bundle  # what the R4B models make of it
    assert fhir_input.check(bundle, catalog) == []
    one = engine.result_of(document, catalog)
    other = engine.result_of(bundle, catalog, form="fhir-input")
    assert [(c.diagnosis_id, c.rank, c.score, c.likelihood) for c in one.candidates] == \
           [(c.diagnosis_id, c.rank, c.score, c.likelihood) for c in other.candidates]
    assert other.report.age_days == one.report.age_days and other.report.facts == one.report.facts
    assert other.report.labs == one.report.labs and other.report.subject == one.report.subject
    same = [engine.render(r, "bundle", ids(), lambda: FIXED) for r in (one, other)]
    assert with_paths_of(same[1], same[0]) == same[0]


def test_older_radlex_url_and_birth_date_are_read(catalog: Catalog, mini: Catalog) -> None:
    document = load_sample("003-vm-knee-periarticular-radlex")
    bundle = json.loads(json.dumps(as_fhir(document, catalog)).replace('"http://radlex.org"', '"http://www.radlex.org"'))
    assert "http://www.radlex.org" in json.dumps(bundle)
    expected = [c.diagnosis_id for c in engine.result_of(document, catalog).candidates]
    assert [c.diagnosis_id for c in engine.result_of(bundle, catalog, form="fhir-input").candidates] == expected
    doc = mini_doc(patient={"birthDate": "2010-03-01", "sex": "male", "subject": "Patient/p1"})
    bundle = json.loads(json.dumps(to_fhir_input(doc, mini.attribute_codings)))
    assert next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")["birthDate"] == "2010-03-01"
    age = engine.result_of(bundle, mini, form="fhir-input").report.age_days
    assert age == engine.result_of(doc, mini).report.age_days == 5114.0  # from the birth date and the study date


def test_what_cannot_be_mapped_is_a_warning_in_the_output(mini: Catalog) -> None:
    bundle = json.loads(json.dumps(to_fhir_input(mini_doc(), mini.attribute_codings)))
    bundle["entry"].append({"fullUrl": "urn:uuid:6f1c0a52-3d3c-4b7e-9a57-2f6a3f0f7a11",
                            "resource": {"resourceType": "Device", "id": "scanner"}})
    finding = next(e["resource"] for e in bundle["entry"] if "imaging" in json.dumps(e["resource"].get("category")))
    finding["component"].append({"code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]}, "valueString": "x"})
    out = engine.evaluate(bundle, mini)  # told apart from findings JSON by its content
    outcome = next(e["resource"] for e in out["entry"] if e["resource"]["resourceType"] == "OperationOutcome")
    where = {i["expression"][0]: i for i in outcome["issue"]}
    assert where["Bundle.entry[4].resource"]["severity"] == "warning"
    assert where["Bundle.entry[3].resource.component[4]"]["severity"] == "warning"
    assert out["entry"][0]["resource"]["conclusionCode"]  # the rest was still evaluated


def test_bundle_mapping_to_nothing_useful_is_422_naming_why(mini_client: TestClient) -> None:
    headers = {"content-type": "application/fhir+json"}
    empty = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:6f1c0a52-3d3c-4b7e-9a57-2f6a3f0f7a12", "resource": {"resourceType": "Patient", "gender": "male"}}]}
    r = mini_client.post("/evaluate", content=json.dumps(empty), headers=headers)
    assert r.status_code == 422
    assert "maps to no imaging finding" in r.json()["issue"][0]["diagnostics"]
    wrong = mini_client.post("/evaluate", content=json.dumps({"resourceType": "Bundle", "type": "document"}), headers=headers)
    assert wrong.status_code == 422 and "collection" in wrong.json()["issue"][0]["diagnostics"]


def test_http_fhir_input_equals_findings_json(mini_client: TestClient, mini: Catalog) -> None:
    bundle = to_fhir_input(mini_doc(), mini.attribute_codings)
    r = mini_client.post("/evaluate", content=json.dumps(bundle), headers={"content-type": "application/fhir+json"})
    assert r.status_code == 200, r.text
    j = mini_client.post("/evaluate", json=mini_doc()).json()
    assert r.json()["entry"][0]["resource"]["conclusionCode"] == j["entry"][0]["resource"]["conclusionCode"]


def test_cli_convert_then_evaluate(tmp_path: Path) -> None:
    sample = next(p for p in sample_paths() if p.stem.startswith("061-"))
    run = CliRunner().invoke(main, ["convert", str(sample), "--to", "fhir-input"])
    assert run.exit_code == 0, run.output
    file = tmp_path / "061.fhir.json"
    file.write_text(run.output, encoding="utf-8")
    assert json.loads(run.output)["type"] == "collection"
    as_fhir_out = json.loads(CliRunner().invoke(main, ["evaluate", str(file)]).output)
    as_json_out = json.loads(CliRunner().invoke(main, ["evaluate", str(sample)]).output)
    codes = [o["entry"][0]["resource"]["conclusionCode"] for o in (as_fhir_out, as_json_out)]
    assert codes[0] == codes[1]
    assert CliRunner().invoke(main, ["validate", str(file)]).exit_code == 0
    assert terms.LOINC_AGE["code"] in run.output


@pytest.mark.parametrize("bundle", [
    {"resourceType": "Bundle", "type": "collection", "entry": 3},
    {"resourceType": "Bundle", "type": "collection", "entry": [1, {"resource": 2}, {"resource": {"resourceType": 5}}]},
    {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Observation", "id": 7, "category": 1, "code": {"coding": [{"system": "http://radlex.org", "code": 1}]},
        "component": [1, {"code": 2}], "partOf": "x", "note": [1], "valueBoolean": True, "effectiveDateTime": 3}}]},
    {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Observation", "category": [{"coding": [{"system": terms.OBS_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2000-8"}]}, "valueQuantity": {"value": True, "unit": 1},
        "referenceRange": [1], "interpretation": {"x": 1}}}]},
    [], "text", None,
])
def test_malformed_bundles_are_problems_never_crashes(bundle: Any, catalog: Catalog) -> None:
    issues = fhir_input.check(bundle, catalog)
    assert issues and all(i.path for i in issues)
