"""Findings schema 1.1: attributes stated absent and clinical-only documents, each on a small document of its own.

Every 1.0 document keeps its answer: the golden snapshots of every sample (all 1.0 documents) prove that.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from plugin import engine, evaluate
from plugin.decide.differential import decide
from plugin.knowledge.catalog import Catalog
from plugin.read import fhir_input
from plugin.read.fhir_convert import to_fhir_input
from plugin.read.normalize import normalize
from plugin.write.fhir_r5 import to_r5
from tests.fhir.test_r4_output import round_trip
from tests.fhir.test_r5 import r5_round_trip, resources
from tests.test_clinical_rules import concept, doc, mass


def truth(catalog: Catalog, document: dict[str, Any], clue: str) -> bool | None:
    section = engine.result_of(document, catalog).packs[0]
    return section.clue_truths[clue]


def phlebolith_mass(**extra: Any) -> dict[str, Any]:
    return {**mass(site="thigh"), **extra}


def test_an_attribute_value_stated_absent_makes_its_clue_false_where_silence_leaves_it_unknown(catalog: Catalog) -> None:
    silent = doc(9, [phlebolith_mass()])
    stated_absent = doc(9, [phlebolith_mass(absentAttributes={"pattern": ["phleboliths"]})])
    stated = doc(9, [phlebolith_mass(attributes={"pattern": ["phleboliths"]})])
    assert truth(catalog, silent, "phleboliths") is None
    assert truth(catalog, stated_absent, "phleboliths") is False
    assert truth(catalog, stated, "phleboliths") is True


def test_a_value_stated_both_present_and_absent_is_an_error_at_its_path(catalog: Catalog) -> None:
    both = doc(9, [phlebolith_mass(attributes={"pattern": ["phleboliths", "punctate"]},
                                   absentAttributes={"pattern": ["phleboliths"]})])
    issues = engine.document_issues(both, catalog)
    assert [(i.path, "phleboliths" in i.message) for i in issues] == [("findings[0].absentAttributes.pattern", True)]


def test_absent_attributes_use_the_packs_vocabulary(catalog: Catalog) -> None:
    wrong = doc(9, [phlebolith_mass(absentAttributes={"pattern": ["no-such-pattern"]})])
    assert any(i.path.startswith("findings[0].absentAttributes") for i in engine.document_issues(wrong, catalog))


def clinical_only(**extra: Any) -> dict[str, Any]:
    d = doc(9, [{"code": concept("soft-tissue-calcification"), "attributes": {"pattern": ["sheet-like"]}}],
            [("dermatomyositis-known", "present", None)])
    del d["studies"]
    for f in d["findings"]:
        del f["study"]
    return {**d, "schemaVersion": "1.1.0", **extra}


def test_a_clinical_only_document_gets_the_differential_when_the_pack_takes_them(catalog: Catalog) -> None:
    document = clinical_only(date="2025-03-01")
    assert engine.document_issues(document, catalog) == []
    result = engine.result_of(document, catalog)
    assert result.in_scope[0].in_scope and result.candidates[0].diagnosis_id == "juvenile-dermatomyositis"
    bundle = engine.render(result, "bundle")
    report, finding = (e["resource"] for e in bundle["entry"][:2])
    assert "category" not in report and report["code"] == {"text": "Clinical findings: differential diagnosis"}
    assert report["effectiveDateTime"] == "2025-03-01"
    assert finding["category"][0]["coding"][0]["code"] == "exam" and finding["method"] == {"text": "Clinical examination"}


def test_a_pack_that_does_not_take_clinical_only_documents_says_why(catalog: Catalog) -> None:
    narrow = dataclasses.replace(catalog, packs=tuple(dataclasses.replace(p, clinical_only=False) for p in catalog.packs))
    section = decide(normalize(clinical_only(), narrow), narrow).packs[0]
    assert not section.in_scope and "This report has no imaging study." in section.scope_reason


def test_a_clinical_only_document_with_a_birth_date_needs_its_own_date(catalog: Catalog) -> None:
    document = clinical_only()
    document["patient"] = {"birthDate": "2016-01-01"}
    assert [i.path for i in engine.document_issues(document, catalog)] == ["date"]
    document["date"] = "2025-03-01"
    assert engine.document_issues(document, catalog) == []
    assert engine.result_of(document, catalog).report.age_days == 3347


def test_the_documents_date_may_not_precede_its_studies(catalog: Catalog) -> None:
    document = {**doc(9, [mass()]), "date": "2024-12-31"}
    assert [i.path for i in engine.document_issues(document, catalog)] == ["date"]


def test_an_absent_attribute_is_written_as_a_negative_component(catalog: Catalog) -> None:
    document = doc(9, [phlebolith_mass(absentAttributes={"pattern": ["phleboliths"]})])
    bundle = engine.render(engine.result_of(document, catalog), "bundle")
    finding = bundle["entry"][1]["resource"]
    (component,) = finding["component"]
    assert component["valueCodeableConcept"]["coding"][0]["code"] == "phleboliths"
    assert component["interpretation"][0]["coding"][0]["code"] == "NEG"


@pytest.mark.parametrize("document", [
    clinical_only(date="2025-03-01"),
    doc(9, [phlebolith_mass(attributes={"pattern": ["punctate"]}, absentAttributes={"pattern": ["phleboliths"]})]),
], ids=["clinical-only", "absent-attribute"])
def test_the_fhir_input_form_carries_the_new_facts_both_ways(catalog: Catalog, document: dict[str, Any]) -> None:
    bundle = json.loads(json.dumps(to_fhir_input(copy.deepcopy(document), catalog.attribute_codings)))
    mapped, issues, _ = fhir_input.map_bundle(bundle, catalog)
    assert not [i for i in issues if i.severity.value in ("error", "fatal")]
    for key in ("date", "studies"):
        assert mapped.get(key) == document.get(key) or key == "date" and "date" not in document
    assert [f.get("absentAttributes") for f in mapped["findings"]] == [f.get("absentAttributes") for f in document["findings"]]
    assert [f.get("study") for f in mapped["findings"]] == [f.get("study") for f in document["findings"]]


@pytest.mark.parametrize("shape", ["bundle", "contained", "message", "transaction"])
@pytest.mark.parametrize("document", [
    clinical_only(date="2025-03-01"), clinical_only(),
    doc(9, [phlebolith_mass(absentAttributes={"pattern": ["phleboliths"]})]),
], ids=["clinical-only", "clinical-only-undated", "absent-attribute"])
def test_outputs_of_the_new_facts_equal_the_r4_and_r5_models(catalog: Catalog, document: dict[str, Any], shape: str) -> None:
    r4 = evaluate(document, catalog, shape)
    for r in resources(r4):
        assert round_trip(r) == r
    r5 = json.loads(json.dumps(to_r5(r4)))
    for r in resources(r5):
        assert r5_round_trip(r) == r
