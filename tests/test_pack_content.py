"""The shipped pack's medical content keeps its promises: verified codes only, safety cautions obeyed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import simple_icd_10_cm as cm

from plugin import engine, evaluate
from plugin.knowledge.catalog import Catalog
from tests.conftest import ROOT, sample_paths

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def codings(node: object) -> list[dict[str, str]]:
    if isinstance(node, dict):
        found = [node] if {"system", "code"} <= node.keys() else []  # type: ignore[list-item]
        return found + [c for v in node.values() for c in codings(v)]
    if isinstance(node, list):
        return [c for v in node for c in codings(v)]
    return []


def test_every_icd10cm_code_in_every_output_exists_with_its_official_display(catalog: Catalog) -> None:
    seen = set()
    for path in sample_paths():
        bundle = evaluate(json.loads(path.read_text(encoding="utf-8")), catalog)
        for c in codings(bundle):
            if c["system"] == ICD10CM:
                seen.add((c["code"], c.get("display")))
    assert seen, "no ICD-10-CM code reached any output"
    for code, display in sorted(seen):
        assert cm.is_valid_item(code), code
        assert display == cm.get_description(code), (code, display)


def test_every_icd10cm_code_in_the_verification_record_is_official(catalog: Catalog) -> None:
    """codes.yaml is the pack's own record; its ICD-10-CM rows are re-checked against the official tables."""
    for pack in catalog.packs:
        for row in pack.raw["codes"]["codes"]:
            assert row["status"].startswith("VERIFIED") and row["evidence"].strip()
            if row["system"] == ICD10CM:
                assert cm.is_valid_item(row["code"]), row["code"]
                assert row["display"] == cm.get_description(row["code"]), row


def test_a_standard_code_missing_from_the_record_stops_the_pack(tmp_path: Path) -> None:
    import shutil

    from plugin.errors import PackInvalid
    from plugin.knowledge.load import load_pack

    pack = tmp_path / "stc"
    shutil.copytree(ROOT / "mappings" / "soft-tissue-calcification", pack)
    record = pack / "codes.yaml"
    record.write_text(record.read_text(encoding="utf-8").replace("display: Myositis ossificans traumatica", "display: Made up"),
                      encoding="utf-8")
    with pytest.raises(PackInvalid) as caught:
        load_pack(pack)
    assert any("verified display 'Made up'" in p.reason for p in caught.value.problems)


def test_no_step_suggested_while_a_shown_caution_forbids_it(catalog: Catalog) -> None:
    """A caution shown for this report (its diagnosis high enough and its own evidence present) silences the steps it
    forbids, both on the diagnoses' lines and in the footer's questions."""
    rules = {c.id: c for p in catalog.packs for c in p.cautions}
    checked = 0
    for path in sample_paths():
        result = engine.result_of(json.loads(path.read_text(encoding="utf-8")), catalog)
        for section in result.in_scope:
            shown = [c.id for cand in section.candidates for c in cand.cautions] + [c.id for c in section.overriding]
            avoid = set().union(*(rules[c].avoid for c in shown)) if shown else set()
            checked += bool(avoid)
            steps = {c.next_step.discriminator_id for c in section.candidates if c.next_step}
            steps |= {q.discriminator_id for q in section.questions}
            assert not steps & avoid, (path.name, steps & avoid)
    assert checked >= 5


def test_fop_caution_reaches_the_narrative(catalog: Catalog) -> None:
    path = next(p for p in sample_paths() if "fop" in p.name)
    div = evaluate(json.loads(Path(path).read_text(encoding="utf-8")), catalog)["entry"][0]["resource"]["text"]["div"]
    assert "Caution:" in div and "biopsy" in div


def _mo_codes(catalog: Catalog, site: str | None, laterality: str | None) -> list[str]:
    from tests.conftest import load_sample

    doc = load_sample("007-mo-thigh-after-contusion")
    for f in doc["findings"]:
        if f["code"]["code"] == "soft-tissue-ossification":
            f.pop("laterality", None)
            if laterality:
                f["laterality"] = laterality
            if site:
                f["bodySite"] = {"system": "https://rad-ddx.org/fhir/CodeSystem/stc-body-site", "code": site, "display": site}
            else:
                f.pop("bodySite", None)
    result = engine.result_of(doc, catalog)
    mo = next(c for c in result.candidates if c.diagnosis_id == "myositis-ossificans")
    return [c.code for c in mo.codes if c.system == ICD10CM]


@pytest.mark.parametrize(
    ("site", "laterality", "code"),
    [("thigh", "left", "M61.052"), ("thigh", "right", "M61.051"), ("thigh", None, "M61.059"), ("elbow", "right", "M61.021"),
     ("back", None, "M61.08"), ("thigh", "bilateral", "M61.09"), ("buttock", "left", "M61.0"), (None, None, "M61.0")],
)
def test_icd10cm_leaf_is_built_from_site_and_laterality(catalog: Catalog, site: str | None, laterality: str | None, code: str) -> None:
    assert _mo_codes(catalog, site, laterality) == [code]
