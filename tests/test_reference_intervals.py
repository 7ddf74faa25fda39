"""Children's reference intervals (pack data) for a lab the report gives without a range or a flag, each rule proved on
a small document of its own (not a sample report)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from plugin import engine
from plugin.errors import PackInvalid
from plugin.knowledge.catalog import Catalog
from plugin.knowledge.load import load_pack
from plugin.model import Candidate, PackResult, Result
from plugin.paths import MAPPINGS_DIR
from plugin.write.narrative import xhtml

BASE = "https://rad-ddx.org/fhir/CodeSystem/stc"
LOINC = {"alkaline-phosphatase": ("6768-6", "U/L", "Alkaline phosphatase"), "phosphate": ("2777-1", "mg/dL", "Phosphate")}
SEX_LINE = "Sex not stated: alkaline phosphatase was read against both sexes' children's ranges."


def lab(test: str, value: float, **stated: Any) -> dict[str, Any]:
    code, unit, display = LOINC[test]
    return {"id": test, "code": {"system": "http://loinc.org", "code": code, "display": display}, "value": {"value": value, "unit": unit}, **stated}


def doc(age: float | None, sex: str | None, *labs: dict[str, Any], ossified_after_surgery: bool = False) -> dict[str, Any]:
    """A lobulated periarticular calcification of the hip (a tumoral-calcinosis pattern) with the given labs; or an
    ossification of the thigh 3 months after surgery (heterotopic ossification, where a raised ALP is a clue)."""
    patient: dict[str, Any] = {}
    if age is not None:
        patient["age"] = {"value": age, "unit": "a"}
    if sex is not None:
        patient["sex"] = sex
    if ossified_after_surgery:
        finding = {"code": {"system": f"{BASE}-concept", "code": "soft-tissue-ossification", "display": "ossification"},
                   "bodySite": {"system": f"{BASE}-body-site", "code": "thigh", "display": "thigh"}, "attributes": {"mineral": "bone"}}
    else:
        finding = {"code": {"system": f"{BASE}-concept", "code": "soft-tissue-calcification", "display": "calcification"},
                   "bodySite": {"system": f"{BASE}-body-site", "code": "hip", "display": "hip"},
                   "attributes": {"mineral": "amorphous-calcium", "pattern": ["lobulated"], "compartment": ["periarticular"]}}
    out: dict[str, Any] = {
        "schemaVersion": "1.0.0", "patient": patient,
        "studies": [{"id": "s1", "modality": "CR", "date": "2025-01-10"}],
        "findings": [{"id": "f1", "study": "s1", "status": "present", **finding}],
        "labs": list(labs),
    }
    if ossified_after_surgery:
        out["history"] = [{"id": "h1", "code": {"system": f"{BASE}-concept", "code": "surgery", "display": "surgery"},
                           "status": "present", "onsetBeforeStudy": {"value": 3, "unit": "mo"}}]
    return out


def section(catalog: Catalog, document: dict[str, Any]) -> tuple[Result, PackResult]:
    result = engine.result_of(document, catalog)
    return result, result.in_scope[0]


def candidate(p: PackResult, dx: str) -> Candidate:
    return next(c for c in p.candidates if c.diagnosis_id == dx)


def test_a_phosphate_high_for_an_adult_is_normal_for_a_young_child(catalog: Catalog) -> None:
    _, p = section(catalog, doc(3, "male", lab("phosphate", 5.2)))  # adult range about 2.5-4.5 mg/dL; 1-4 years 4.3-5.4
    assert p.clue_truths["phosphate-high"] is False
    assert p.clue_truths["phosphate-normal"] is True
    _, high = section(catalog, doc(3, "male", lab("phosphate", 6.0)))
    assert high.clue_truths["phosphate-high"] is True


def test_without_age_there_is_no_interval(catalog: Catalog) -> None:
    _, p = section(catalog, doc(None, "male", lab("phosphate", 9.0), lab("alkaline-phosphatase", 900)))
    assert p.clue_truths["phosphate-high"] is None and p.clue_truths["alp-high"] is None


def test_an_alp_without_range_is_read_against_its_age_band(catalog: Catalog) -> None:
    _, five = section(catalog, doc(5, "female", lab("alkaline-phosphatase", 400)))  # 1-<10 years: 142-335 U/L
    _, eleven = section(catalog, doc(11, "female", lab("alkaline-phosphatase", 400)))  # 10-<13 years: 129-417 U/L
    _, infant = section(catalog, doc(0.02, "female", lab("alkaline-phosphatase", 300)))  # 0-14 days: 83-248 U/L
    assert five.clue_truths["alp-high"] is True
    assert eleven.clue_truths["alp-high"] is False
    assert infant.clue_truths["alp-high"] is True
    assert five.header == ()  # sex stated: no header line


def test_a_statement_from_the_packs_range_says_so_and_cites_it(catalog: Catalog) -> None:
    result, p = section(catalog, doc(10, "male", lab("phosphate", 7.0)))  # males 5-13 years: 3.7-5.4 mg/dL
    hftc = candidate(p, "hyperphosphatemic-tumoral-calcinosis")
    said = next(o for o in hftc.supporting if o.clue_id == "phosphate-high")
    assert "no range in the report" in said.statement and "the pack's children's reference interval" in said.statement
    assert "3.7-5.4 mg/dL" in said.statement
    assert any(s.startswith("mayo-phosphorus") for s in said.sources)
    assert said.statement in xhtml(result).replace("&#x27;", "'")
    assert next(t for t in p.clues if t.clue_id == "phosphate-high").statement == said.statement  # `ddx explain` too


@pytest.mark.parametrize(("document", "code"), [
    (doc(10, "male", lab("phosphate", 7.0)), "2777-1"),  # one band: low and high read from the pack
    (doc(14, None, lab("alkaline-phosphatase", 500)), "6768-6"),  # both sexes: a high reading
])
def test_the_lab_observation_shows_only_what_the_report_gave(catalog: Catalog, document: dict[str, Any], code: str) -> None:
    bundle = engine.evaluate(document, catalog)
    labs = [e["resource"] for e in bundle["entry"] if e["resource"].get("resourceType") == "Observation"
            and e["resource"]["code"]["coding"][0].get("code") == code]
    assert labs and all("referenceRange" not in o and "interpretation" not in o for o in labs)


def test_sex_missing_where_the_band_depends_on_it(catalog: Catalog) -> None:
    # 14 years: boys 116-468, girls 57-254 U/L. 300 is high for a girl only: not stated, and the header says why.
    _, between = section(catalog, doc(14, None, lab("alkaline-phosphatase", 300)))
    assert between.clue_truths["alp-high"] is None
    assert SEX_LINE in between.header
    _, above = section(catalog, doc(14, None, lab("alkaline-phosphatase", 500), ossified_after_surgery=True))
    assert above.clue_truths["alp-high"] is True and SEX_LINE in above.header
    said = [o for c in above.candidates for o in c.supporting if o.clue_id == "alp-high"]
    assert said and all("both sexes' children's reference intervals" in o.statement and "57-254 and 116-468 U/L" in o.statement
                        for o in said)
    _, girl = section(catalog, doc(14, "female", lab("alkaline-phosphatase", 300)))
    assert girl.clue_truths["alp-high"] is True and SEX_LINE not in girl.header
    _, young = section(catalog, doc(5, None, lab("alkaline-phosphatase", 400)))  # one band for both sexes: no line
    assert young.clue_truths["alp-high"] is True and young.header == ()


def test_the_reports_own_range_or_flag_wins(catalog: Catalog) -> None:
    _, ranged = section(catalog, doc(3, "male", lab("phosphate", 5.2, referenceRange={"low": 2.5, "high": 4.5})))
    assert ranged.clue_truths["phosphate-high"] is True
    _, flagged = section(catalog, doc(5, "female", lab("alkaline-phosphatase", 200, interpretation="H")))
    assert flagged.clue_truths["alp-high"] is True  # 200 is within 142-335, but the report says high
    said = [o for c in ranged.candidates for o in c.supporting + c.opposing if o.clue_id.startswith("phosphate")]
    assert said and not any("reference interval" in o.statement for o in said)


def _broken(tmp_path: Path, change: Any) -> list[str]:
    folder = tmp_path / "stc"
    shutil.copytree(MAPPINGS_DIR / "soft-tissue-calcification", folder)
    manifest = yaml.safe_load((folder / "pack.yaml").read_text(encoding="utf-8"))
    change(manifest["reference_intervals"])
    (folder / "pack.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PackInvalid) as info:
        load_pack(folder)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(("change", "path", "reason"), [
    (lambda r: r[0]["bands"][2].update(low=400), r"reference_intervals\[0\]\.bands\[2\]", "is not below high"),
    (lambda r: r[1].update(unit="mmol/L"), r"reference_intervals\[1\]\.unit", "is not the lab's unit"),
    (lambda r: r[0].update(lab="alkaline-phosphatase-x"), r"reference_intervals\[0\]\.lab", "not in the vocabulary"),
    (lambda r: r[0]["bands"][3]["age"].update(min={"value": 9, "unit": "a"}), r"reference_intervals\[0\]\.bands\[3\]\.age",
     "overlaps bands\\[2\\]"),
    (lambda r: r[1]["bands"][0].update(source=["nowhere"]), r"reference_intervals\[1\]\.bands\[0\]\.source\[0\]", "not declared"),
    (lambda r: r[0]["bands"][0].update(low=-1), r"reference_intervals\[0\]\.bands\[0\]\.low", "minimum"),
    (lambda r: r[0]["bands"][0].pop("high"), r"reference_intervals\[0\]\.bands\[0\]", "'high' is a required property"),
])
def test_a_malformed_range_is_a_pack_error_naming_its_path(tmp_path: Path, change: Any, path: str, reason: str) -> None:
    problems = _broken(tmp_path, change)
    assert any("pack.yaml" in p and re.search(path, p) and re.search(reason, p) for p in problems), problems
