"""The predicate language, three-valued: a fact the report does not state is unknown, never false."""

from __future__ import annotations

from typing import Any

import pytest

from plugin.knowledge.catalog import Catalog
from plugin.knowledge.predicates import compile_predicate
from plugin.read.normalize import normalize
from tests.conftest import MINI_CONCEPT, mini_doc


def truth(mini: Catalog, predicate: dict[str, Any], doc: dict[str, Any]) -> bool | None:
    pack = mini.packs[0]
    return compile_predicate(predicate, pack.vocabulary)(normalize(doc, mini))


def history(code: str, status: str = "present", **extra: Any) -> dict[str, Any]:
    return {"id": f"h-{code}", "code": {"system": MINI_CONCEPT, "code": code, "display": code}, "status": status, **extra}


def finding(code: str, status: str = "present", **extra: Any) -> dict[str, Any]:
    return {"id": f"f-{code}", "study": "s1", "code": {"system": MINI_CONCEPT, "code": code, "display": code}, "status": status, **extra}


BONE = {"finding": {"concept": "calcification", "attributes": {"mineral": ["bone"]}}}


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [({"mineral": "bone"}, True), ({"mineral": "calcium"}, False), ({"pattern": ["rim"]}, None)],
    ids=["stated-match", "stated-other", "not-stated"],
)
def test_finding_attribute_is_three_valued(mini: Catalog, attributes: dict[str, Any], expected: bool | None) -> None:
    doc = mini_doc()
    doc["findings"][0]["attributes"] = attributes
    assert truth(mini, BONE, doc) is expected


def test_finding_never_mentioned_is_unknown_and_stated_absent_is_false(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"] = [finding("toe-anomaly")]
    assert truth(mini, BONE, doc) is None
    doc["findings"] = [finding("calcification", "absent")]
    assert truth(mini, BONE, doc) is False
    assert truth(mini, {"finding": {"concept": "calcification", "status": "absent"}}, doc) is True


def test_not_keeps_unknown_unknown(mini: Catalog) -> None:
    toes_normal = {"not": {"finding": {"concept": "toe-anomaly"}}}
    doc = mini_doc()
    assert truth(mini, toes_normal, doc) is None  # toes not mentioned: never counts as normal
    doc["findings"].append(finding("toe-anomaly", "absent"))
    assert truth(mini, toes_normal, doc) is True
    doc["findings"][-1]["status"] = "present"
    assert truth(mini, toes_normal, doc) is False


@pytest.mark.parametrize(
    ("parts", "all_expected", "any_expected"),
    [
        ([True, True], True, True),
        ([True, None], None, True),
        ([False, None], False, None),
        ([None, None], None, None),
        ([False, False], False, False),
    ],
)
def test_all_and_any_truth_tables(mini: Catalog, parts: list[bool | None], all_expected: bool | None, any_expected: bool | None) -> None:
    # Build predicates with a known truth each: True = bone stated, False = toe anomaly stated absent tested as present, None = trauma.
    doc = mini_doc()
    doc["findings"].append(finding("toe-anomaly", "absent"))
    of = {True: BONE, False: {"finding": {"concept": "toe-anomaly"}}, None: {"history": {"concept": "trauma"}}}
    preds = [of[p] for p in parts]
    assert truth(mini, {"all": preds}, doc) is all_expected
    assert truth(mini, {"any": preds}, doc) is any_expected


def test_site_and_site_sets(mini: Catalog) -> None:
    proximal = {"finding": {"concept": "calcification", "site": ["proximal"]}}
    doc = mini_doc()
    assert truth(mini, proximal, doc) is True  # RadLex hip -> pack site 'hip' -> in set 'proximal'
    del doc["findings"][0]["bodySite"]
    assert truth(mini, proximal, doc) is None


@pytest.mark.parametrize(("onset", "expected"), [({"value": 4, "unit": "wk"}, True), ({"value": 1, "unit": "a"}, False), (None, None)])
def test_time_since_event(mini: Catalog, onset: dict[str, Any] | None, expected: bool | None) -> None:
    recent = {"history": {"concept": "trauma", "onset": {"min": {"value": 2, "unit": "wk"}, "max": {"value": 8, "unit": "wk"}}}}
    item = history("trauma", **({"onsetBeforeStudy": onset} if onset else {}))
    assert truth(mini, recent, mini_doc(history=[item])) is expected


def test_onset_from_dates(mini: Catalog) -> None:
    recent = {"history": {"concept": "trauma", "onset": {"min": {"value": 2, "unit": "wk"}, "max": {"value": 8, "unit": "wk"}}}}
    assert truth(mini, recent, mini_doc(history=[history("trauma", onsetDate="2024-02-01")])) is True
    assert truth(mini, recent, mini_doc(history=[history("trauma", onsetDate="2023-02-01")])) is False


@pytest.mark.parametrize(
    ("age", "expected"),
    [({"value": 14, "unit": "a"}, True), ({"value": 6, "unit": "mo"}, False), (None, None)],
)
def test_age_range(mini: Catalog, age: dict[str, Any] | None, expected: bool | None) -> None:
    doc = mini_doc()
    doc["patient"] = {"sex": "male"} | ({"age": age} if age else {})
    assert truth(mini, {"age": {"min": {"value": 10, "unit": "a"}, "max": {"value": 18, "unit": "a"}}}, doc) is expected


def test_age_from_birth_date(mini: Catalog) -> None:
    doc = mini_doc()
    doc["patient"] = {"birthDate": "2010-01-01"}
    assert truth(mini, {"age": {"min": {"value": 14, "unit": "a"}}}, doc) is True


@pytest.mark.parametrize(("sex", "expected"), [("female", True), ("male", False), ("unknown", None), (None, None)])
def test_sex(mini: Catalog, sex: str | None, expected: bool | None) -> None:
    doc = mini_doc()
    doc["patient"] = {} if sex is None else {"sex": sex}
    assert truth(mini, {"sex": "female"}, doc) is expected


def lab(**extra: Any) -> dict[str, Any]:
    return {"id": "l1", "code": {"system": "http://loinc.org", "code": "2777-1", "display": "Phosphate"}, **extra}


@pytest.mark.parametrize(
    ("result", "comparison", "expected"),
    [
        (lab(value={"value": 7.0, "unit": "mg/dL"}, referenceRange={"low": 3.0, "high": 5.5}), {"high": True}, True),
        (lab(value={"value": 4.0, "unit": "mg/dL"}, referenceRange={"low": 3.0, "high": 5.5}), {"high": True}, False),
        (lab(value={"value": 4.0, "unit": "mg/dL"}, referenceRange={"low": 3.0, "high": 5.5}), {"normal": True}, True),
        (lab(value={"value": 7.0, "unit": "mg/dL"}), {"high": True}, None),  # no range, no flag
        (lab(interpretation="H"), {"high": True}, True),
        (lab(interpretation="N"), {"high": True}, False),
        (lab(interpretation="N"), {"normal": True}, True),
        (lab(interpretation="H"), {"above": {"value": 5, "unit": "mg/dL"}}, None),  # a flag says nothing about a fixed bound
        # 2.0 mmol/L phosphate = 6.19 mg/dL: unit conversion by molar mass
        (lab(value={"value": 2.0, "unit": "mmol/L"}), {"above": {"value": 6.0, "unit": "mg/dL"}}, True),
        (lab(value={"value": 2.0, "unit": "mmol/L"}), {"above": {"value": 6.5, "unit": "mg/dL"}}, False),
        (lab(value={"value": 12.0, "unit": "mg/dL"}, referenceRange={"high": 5.0}), {"uln_multiple_at_least": 2}, True),
        (lab(value={"value": 9.0, "unit": "mg/dL"}, referenceRange={"high": 5.0}), {"uln_multiple_at_least": 2}, False),
        (lab(value={"value": 9.0, "unit": "mg/dL"}), {"uln_multiple_at_least": 2}, None),
    ],
)
def test_lab_comparisons(mini: Catalog, result: dict[str, Any], comparison: dict[str, Any], expected: bool | None) -> None:
    assert truth(mini, {"lab": {"test": "phosphate", **comparison}}, mini_doc(labs=[result])) is expected


def test_lab_not_reported_is_unknown(mini: Catalog) -> None:
    assert truth(mini, {"lab": {"test": "phosphate", "high": True}}, mini_doc()) is None


@pytest.mark.parametrize(
    ("size", "expected"),
    [({"value": 3, "unit": "cm"}, True), ({"value": 2, "unit": "cm"}, False), ({"value": 25, "unit": "mm"}, True),
     ({"value": 24, "unit": "mm"}, False)],
    ids=["3cm", "2cm", "25mm", "24mm"],
)
def test_size_bounds_read_the_stated_unit(mini: Catalog, size: dict[str, Any], expected: bool) -> None:
    """A lesion of 3 cm is 30 mm: a size clue with a 25 mm floor fires for it and not for 2 cm."""
    doc = mini_doc()
    doc["findings"][0]["size"] = size
    assert truth(mini, {"finding": {"concept": "calcification", "size": {"min_mm": 25}}}, doc) is expected
