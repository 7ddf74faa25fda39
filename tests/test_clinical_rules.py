"""The clinical rules the blind review found wrong, each proved on a small document of its own (not a sample)."""

from __future__ import annotations

from typing import Any

from plugin import engine
from plugin.knowledge.catalog import Catalog
from plugin.model import Candidate, Result

BASE = "https://rad-ddx.org/fhir/CodeSystem/stc"


def concept(code: str) -> dict[str, str]:
    return {"system": f"{BASE}-concept", "code": code, "display": code}


def doc(age: float, findings: list[dict[str, Any]], history: list[tuple[str, str, dict[str, Any] | None]] = (),  # type: ignore[assignment]
        labs: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    d: dict[str, Any] = {
        "schemaVersion": "1.0.0", "patient": {"age": {"value": age, "unit": "a"}, "sex": "female"},
        "studies": [{"id": "s1", "modality": "CR", "date": "2025-01-10"}],
        "findings": [{"id": f"f{i}", "study": "s1", "status": "present", **f} for i, f in enumerate(findings)],
    }
    if history:
        d["history"] = [{"id": f"h{i}", "code": concept(c), "status": s, **({"onsetBeforeStudy": o} if o else {})}
                        for i, (c, s, o) in enumerate(history)]
    if labs:
        d["labs"] = labs
    return d


def mass(code: str = "soft-tissue-calcification", site: str = "thigh", **attributes: Any) -> dict[str, Any]:
    f: dict[str, Any] = {"code": concept(code), "bodySite": {"system": f"{BASE}-body-site", "code": site, "display": site}}
    if attributes:
        f["attributes"] = {k.replace("_", "-"): v for k, v in attributes.items()}
    return f


def result(catalog: Catalog, document: dict[str, Any]) -> Result:
    return engine.result_of(document, catalog)


def candidate(r: Result, dx: str) -> Candidate | None:
    return next((c for c in r.candidates if c.diagnosis_id == dx), None)


def age_penalised(c: Candidate) -> bool:
    return any(o.clue_id == "age-outside-usual-range" for o in c.opposing)


def test_usual_age_is_the_age_at_onset_when_the_onset_is_stated(catalog: Catalog) -> None:
    findings = [mass(mineral="amorphous-calcium", pattern=["sheet-like"], distribution=["multifocal"])]
    known_since_8 = result(catalog, doc(20, findings, [("dermatomyositis-known", "present", {"value": 12, "unit": "a"})]))
    jdm = candidate(known_since_8, "juvenile-dermatomyositis")
    assert jdm is not None and not age_penalised(jdm)
    no_onset = result(catalog, doc(20, findings, [("dermatomyositis-known", "present", None)]))
    jdm_now = candidate(no_onset, "juvenile-dermatomyositis")
    assert jdm_now is None or age_penalised(jdm_now)


def test_an_adolescent_is_within_the_usual_age_of_synovial_sarcoma(catalog: Catalog) -> None:
    r = result(catalog, doc(13, [mass(site="knee", compartment=["periarticular"], distribution=["solitary"]),
                                 {"code": concept("soft-tissue-mass"), "bodySite": {"system": f"{BASE}-body-site", "code": "knee",
                                                                                     "display": "knee"}}]))
    sarcoma = candidate(r, "synovial-sarcoma")
    assert sarcoma is not None and not age_penalised(sarcoma)


def test_recurrence_after_its_own_excision_is_not_post_surgical_ossification(catalog: Catalog) -> None:
    findings = [mass("soft-tissue-ossification", mineral="bone")]
    after_surgery = result(catalog, doc(9, findings, [("surgery", "present", {"value": 3, "unit": "mo"})]))
    recurred = result(catalog, doc(9, findings, [("surgery", "present", {"value": 3, "unit": "mo"}),
                                                 ("recurrence-after-excision", "present", None)]))
    assert after_surgery.candidates[0].diagnosis_id == "postsurgical-heterotopic-ossification"
    top = [c.diagnosis_id for c in recurred.candidates[:3]]
    assert "postsurgical-heterotopic-ossification" not in top[:1]
    assert "fibrodysplasia-ossificans-progressiva" in top


def test_raised_phosphate_argues_against_primary_hyperparathyroidism_and_kidney_disease_does_not(catalog: Catalog) -> None:
    phosphate = {"id": "l1", "code": {"system": "http://loinc.org", "code": "2777-1",
                                      "display": "Phosphate [Mass/volume] in Serum or Plasma"}, "interpretation": "H"}
    r = result(catalog, doc(15, [mass(mineral="amorphous-calcium", compartment=["periarticular"])], [("hyperparathyroidism", "present", None)],
                            [phosphate]))
    hpt = candidate(r, "hyperparathyroidism-calcinosis")
    assert hpt is not None and any(o.clue_id == "phosphate-high" for o in hpt.opposing)
    pack = catalog.packs[0]
    kidney = [c for c in pack.clues if c.concepts & {"chronic-kidney-disease", "end-stage-renal-disease", "dialysis"}]
    assert kidney and not [e for c in kidney for e in c.effects
                           if e.diagnosis == "hyperparathyroidism-calcinosis" and e.effect in ("opposes", "excludes")]


def test_an_intra_articular_calcified_mass_favours_synovial_chondromatosis_over_synovial_sarcoma(catalog: Catalog) -> None:
    r = result(catalog, doc(12, [mass(site="knee", compartment=["intra-articular"], pattern=["punctate"])]))
    order = [c.diagnosis_id for c in r.candidates]
    assert "synovial-chondromatosis" in order
    assert "synovial-sarcoma" not in order or order.index("synovial-chondromatosis") < order.index("synovial-sarcoma")


def test_calciphylaxis_in_kidney_failure_is_named_and_urgent(catalog: Catalog) -> None:
    r = result(catalog, doc(16, [mass(site="thigh", compartment=["subcutaneous"], pattern=["linear"]),
                                 {"code": concept("arterial-calcification")}],
                            [("dialysis", "present", None), ("skin-ulcer", "present", None)]))
    assert "calciphylaxis" in [c.diagnosis_id for c in r.candidates[:3]]
    conclusion = engine.render(r)["entry"][0]["resource"]["conclusion"]
    assert "Possible calciphylaxis: urgent" in conclusion


def test_calcinosis_that_ulcerates_is_not_drained_as_an_abscess(catalog: Catalog) -> None:
    findings = [mass(mineral="amorphous-calcium", pattern=["sheet-like"], compartment=["subcutaneous"])]
    r = result(catalog, doc(8, findings, [("dermatomyositis-known", "present", None), ("skin-ulcer", "present", None)]))
    jdm = candidate(r, "juvenile-dermatomyositis")
    assert jdm is not None and any("abscess" in c.statement for c in jdm.cautions)


def test_avoid_biopsy_for_myositis_ossificans_only_on_its_own_evidence(catalog: Catalog) -> None:
    lesion = mass("soft-tissue-ossification", mineral="bone", compartment=["intramuscular"], distribution=["solitary"])
    enhancing = {"code": concept("lesion-enhancement")}
    plain = result(catalog, doc(14, [lesion, enhancing]))
    mo = candidate(plain, "myositis-ossificans")
    assert mo is not None
    said = " ".join(c.statement for c in mo.cautions)
    assert "avoid biopsy" not in said and "sarcoma centre" in said
    assert all(c.next_step is None or c.next_step.discriminator_id != "follow-up-radiograph" for c in plain.candidates)
    injured = result(catalog, doc(14, [lesion, enhancing], [("local-trauma", "present", {"value": 5, "unit": "wk"})]))
    mo_injured = candidate(injured, "myositis-ossificans")
    assert mo_injured is not None and any("avoid biopsy" in c.statement for c in mo_injured.cautions)


def test_the_fop_caution_overrides_only_on_a_feature_of_fop(catalog: Catalog) -> None:
    lesion = mass("soft-tissue-ossification", mineral="bone", compartment=["intramuscular"])
    plain = result(catalog, doc(6, [lesion]))
    toes = result(catalog, doc(6, [lesion, {"code": concept("great-toe-malformation")}]))
    assert not any(p.overriding for p in plain.in_scope)
    assert [c.id for p in toes.in_scope for c in p.overriding] == ["fop-avoid-trauma"]


def test_a_kind_of_ho_defined_by_its_trigger_names_the_entry_only_when_the_trigger_is_stated(catalog: Catalog) -> None:
    hip_bone = [mass("soft-tissue-ossification", site="hip", mineral="bone", distribution=["solitary"])]
    silent = result(catalog, doc(6, hip_bone, [("pain", "present", None), ("local-trauma", "absent", None)]))
    assert silent.packs[0].trace["scores"]["neurogenic-heterotopic-ossification"] > silent.packs[0].trace["scores"]["myositis-ossificans"]
    assert silent.candidates[0].diagnosis_id == "myositis-ossificans"
    assert candidate(silent, "neurogenic-heterotopic-ossification") is None  # one entry per family
    after_injury = result(catalog, doc(6, hip_bone, [("cns-injury", "present", {"value": 3, "unit": "mo"})]))
    assert after_injury.candidates[0].diagnosis_id == "neurogenic-heterotopic-ossification"


def test_no_next_step_tests_for_a_disease_the_report_states(catalog: Catalog) -> None:
    findings = [mass(mineral="amorphous-calcium", distribution=["multifocal"], compartment=["subcutaneous"])]
    r = result(catalog, doc(11, findings, [("dialysis", "present", None), ("hyperparathyroidism", "present", None)]))
    steps = [c.next_step.discriminator_id for c in r.candidates if c.next_step] + [q.discriminator_id for q in r.packs[0].questions]
    assert "renal-function" not in steps and "pth" not in steps


def test_a_finding_many_diseases_share_is_not_shown_for_one_of_them(catalog: Catalog) -> None:
    from plugin.write import narrative

    r = result(catalog, doc(9, [mass(mineral="amorphous-calcium", pattern=["sheet-like"])], [("dermatomyositis-known", "present", None)]))
    for c in r.candidates:
        shown = [o.clue_id for o in narrative.shown_for(c)]
        assert "amorphous-calcium" not in shown  # it supports a dozen diseases: noise on each line
        if not shown and not c.label_note:
            assert "no specific finding for it" in narrative.parts(c)[0][1]
    assert any(o.clue_id == "amorphous-calcium" for c in r.candidates for o in c.supporting)  # still weighed
