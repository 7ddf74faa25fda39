"""FHIR R4 output: shaped as the spec says, equal to what fhir.resources.R4B makes of it, references resolvable."""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class

from plugin import evaluate, terms
from plugin.knowledge.catalog import Catalog
from tests.conftest import load_sample, mini_doc, sample_paths, values_of
from tests.fhir.invariants import dom3_unreferenced


def round_trip(resource: dict[str, Any]) -> dict[str, Any]:
    model = get_fhir_model_class(resource["resourceType"])
    return json.loads(model.model_validate(resource).model_dump_json())  # type: ignore[no-any-return]


def references(node: Any) -> list[str]:
    return list(values_of(node, "reference"))


def by_type(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.mark.parametrize("path", sample_paths(), ids=lambda p: p.stem)
def test_every_sample_output_equals_the_fhir_models_and_resolves(path: Path, catalog: Catalog) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    bundle = evaluate(document, catalog)
    assert round_trip(bundle) == bundle
    for entry in bundle["entry"]:
        assert round_trip(entry["resource"]) == entry["resource"]
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(full_urls) == len(set(full_urls))
    assert all(u == f"urn:uuid:{e['resource']['id']}" for u, e in zip(full_urls, bundle["entry"], strict=True))
    internal = [r for r in references(bundle) if r.startswith("urn:uuid:")]
    assert internal and set(internal) <= set(full_urls)
    contained = evaluate(document, catalog, shape="contained")
    assert round_trip(contained) == contained
    local_ids = {"#" + r["id"] for r in contained["contained"]} | {"#"}
    assert {r for r in references(contained) if r.startswith("#")} <= local_ids
    assert not dom3_unreferenced(contained), "dom-3: contained resources nothing in the report refers to"


def test_diagnostic_report_is_readable_alone(catalog: Catalog) -> None:
    document = load_sample(sample_paths()[0].stem)
    bundle = evaluate(document, catalog)
    report = bundle["entry"][0]["resource"]
    assert report["resourceType"] == "DiagnosticReport" and report["status"] == "preliminary"
    assert {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD", "display": "Radiology"} in [
        c for cat in report["category"] for c in cat["coding"]]
    assert any(c["system"] == "http://loinc.org" for c in report["code"]["coding"])
    assert report["conclusion"].startswith("Decision support")
    assert len(report["result"]) == len(document["findings"])  # one imaging Observation per finding, absent ones too
    assert report["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    risk = by_type(bundle, "RiskAssessment")[0]
    ranks = [next(x["valueInteger"] for x in p["extension"] if x["url"] == terms.EXT_RANK) for p in risk["prediction"]]
    assert ranks == list(range(1, len(ranks) + 1))
    assert [p["outcome"] for p in risk["prediction"]] == report["conclusionCode"]
    for condition in by_type(bundle, "Condition"):
        assert condition["verificationStatus"]["coding"][0]["code"] == "differential"
        assert condition["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    labs = {e["fullUrl"] for e in bundle["entry"] if e["resource"].get("category", [{}])[0].get("coding", [{}])[0].get("code") == "laboratory"}
    assert not labs & {r["reference"] for r in report["result"]}  # labs are never results


def test_subject_absent_is_said_not_invented(mini: Catalog) -> None:
    doc = mini_doc()
    doc["patient"] = {"sex": "male"}
    bundle = evaluate(doc, mini)
    assert not by_type(bundle, "Patient")
    for kind in ("RiskAssessment", "Condition"):
        for resource in by_type(bundle, kind):
            assert resource["subject"] == {"extension": [{"url": terms.EXT_DATA_ABSENT, "valueCode": "unknown"}]}


def test_out_of_scope_carries_no_differential(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0]["status"] = "absent"
    del doc["findings"][0]["attributes"]
    bundle = evaluate(doc, mini)
    assert not by_type(bundle, "RiskAssessment") and not by_type(bundle, "Condition")
    report = bundle["entry"][0]["resource"]
    assert "conclusionCode" not in report and "Outside the scope" in report["conclusion"]


def test_unknown_codes_are_reported_in_the_bundle(mini: Catalog) -> None:
    doc = mini_doc(history=[{"id": "h1", "status": "present", "code": {"system": "http://snomed.info/sct", "code": "1234567", "display": "x"}}])
    bundle = evaluate(doc, mini)
    (outcome,) = by_type(bundle, "OperationOutcome")
    assert outcome["issue"] == [{"severity": "warning", "code": "code-invalid", "expression": ["history[0].code"],
                                 "diagnostics": "Code not known to any loaded knowledge pack: this history item was not evaluated."}]
    assert len([o for o in by_type(bundle, "Observation") if o["code"]["coding"][0]["code"] == "1234567"]) == 1  # kept, not dropped


def test_output_is_deterministic_given_ids_and_clock(mini: Catalog) -> None:
    def run() -> dict[str, Any]:
        counter = itertools.count()
        return evaluate(mini_doc(), mini, new_id=lambda: f"id-{next(counter)}", now=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    assert run() == run()


def test_narrative_escapes_text(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0]["code"]["display"] = "<script>alert(1)</script>"
    doc["history"] = [{"id": "h1", "status": "present", "code": {"system": "http://snomed.info/sct", "code": "1", "display": "<b>x</b>"}}]
    div = evaluate(doc, mini)["entry"][0]["resource"]["text"]["div"]
    assert "<script>" not in div and "<b>x</b>" not in div


def test_narrative_escapes_pack_text_that_reaches_it(tmp_path: Path) -> None:
    """Markup in a clue's statement and a diagnosis's display (a pack author's text) reaches the XHTML only escaped."""
    import shutil

    from plugin import load_knowledge
    from tests.conftest import MINI_PACKS

    shutil.copytree(MINI_PACKS, tmp_path, dirs_exist_ok=True)
    clues = tmp_path / "mini" / "clues.yaml"
    clues.write_text(clues.read_text(encoding="utf-8").replace("statement: True bone", 'statement: "True <i>bone</i> & <script>x</script>"'),
                     encoding="utf-8")
    doc = mini_doc()
    bundle = evaluate(doc, load_knowledge(tmp_path))
    div = bundle["entry"][0]["resource"]["text"]["div"]
    assert "True &lt;i&gt;bone&lt;/i&gt; &amp; &lt;script&gt;x&lt;/script&gt;" in div
    assert "<script>" not in div and "<i>bone" not in div
    ET.fromstring(div)  # still well-formed XHTML


def test_published_definitions_are_current_and_valid_fhir(catalog: Catalog) -> None:
    from plugin.knowledge.publish import OUT_DIR, definitions

    expected = definitions(catalog)
    on_disk = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in OUT_DIR.glob("*.json")}
    assert on_disk == expected, "run `ddx pack publish` and commit mappings/fhir/"
    for resource in expected.values():
        assert round_trip(resource) == resource
    urls = {r["url"] for r in expected.values()}
    assert {terms.EXT_GROUP, terms.EXT_RANK, terms.FINDING_PROPERTY} <= urls


def test_out_of_scope_history_and_labs_are_referenced_from_the_report(catalog: Catalog) -> None:
    """dom-3 found by HAPI's R4 validator: out of scope there is no RiskAssessment.basis, so the contained history and lab
    Observations were referenced from nowhere. They are the report's supporting information in both shapes."""
    doc = next(d for d in (load_sample(p.stem) for p in sample_paths()) if not evaluate(d, catalog)["entry"][0]["resource"].get(
        "conclusionCode") and (d.get("history") or d.get("labs")))
    contained = evaluate(doc, catalog, shape="contained")
    assert not dom3_unreferenced(contained)
    supporting = {x["valueReference"]["reference"] for x in contained.get("extension", []) if x["url"] == terms.EXT_SUPPORTING_INFO}
    context = {"#" + r["id"] for r in contained["contained"] if r["resourceType"] == "Observation"
               and r.get("category", [{}])[0].get("coding", [{}])[0].get("code") != "imaging"}
    assert context and context <= supporting


def test_dom3_check_sees_an_unreferenced_contained_resource() -> None:
    report = {"resourceType": "DiagnosticReport", "id": "r", "result": [{"reference": "#a"}],
              "contained": [{"resourceType": "Observation", "id": "a"}, {"resourceType": "Observation", "id": "b"},
                            {"resourceType": "Provenance", "id": "p", "target": [{"reference": "#"}]}]}
    assert dom3_unreferenced(report) == ["b"]


@pytest.mark.parametrize("count", [1.0, 1e2, -0.0])
def test_a_count_sent_as_a_float_is_written_as_a_fhir_integer(mini: Catalog, count: float) -> None:
    """JSON Schema's integer admits 1.0, 1e2 and -0.0; FHIR's valueInteger is refused by strict parsers unless integral text."""
    doc = mini_doc()
    doc["findings"][0]["count"] = count
    bundle = evaluate(doc, mini)
    values = [c["valueInteger"] for o in by_type(bundle, "Observation") for c in o.get("component", []) if "valueInteger" in c]
    assert values == [int(count)] and all(type(v) is int for v in values)
    assert f'"valueInteger":{int(count)}}}'.encode() in orjson.dumps(bundle)
