"""The predicate language at its edges: range bounds, every constraint of a finding test, every lab comparison, and the
path and reason a pack author reads when a predicate cannot compile. Written to kill the mutants of
plugin/knowledge/predicates.py that the other tests let live (docs/mutation-testing.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from plugin.knowledge.catalog import Catalog
from plugin.knowledge.predicates import PredicateError, and3, compile_predicate, or3
from tests.conftest import mini_doc
from tests.test_predicates import BONE, finding, history, lab, truth

CALC = "calcification"


def calc(**constraints: Any) -> dict[str, Any]:
    return {"finding": {"concept": CALC, **constraints}}


def with_finding(**changes: Any) -> dict[str, Any]:
    """The mini document with its calcification changed (a key set to None is removed)."""
    doc = mini_doc()
    for key, value in changes.items():
        if value is None:
            doc["findings"][0].pop(key, None)
        else:
            doc["findings"][0][key] = value
    return doc


def test_three_valued_and_or_on_their_own() -> None:
    assert and3([]) is True and or3([]) is False
    assert and3([None, False]) is False and and3([True, None, True]) is None
    assert or3([None, True]) is True and or3([False, None, False]) is None


# --- finding tests: every constraint, its bounds, and unknown when the report does not state the value ---

@pytest.mark.parametrize(
    ("count", "stated", "expected"),
    [({"min": 3}, 3, True), ({"min": 4}, 3, False), ({"max": 3}, 3, True), ({"max": 2}, 3, False),
     ({"min": 2, "max": 4}, 5, False), ({"min": 2}, None, None)],
    ids=["min-inclusive", "below-min", "max-inclusive", "above-max", "outside-both", "not-stated"],
)
def test_count_bounds_are_both_inclusive(mini: Catalog, count: dict[str, int], stated: int | None, expected: bool | None) -> None:
    assert truth(mini, calc(count=count), with_finding(count=stated)) is expected


@pytest.mark.parametrize(
    ("size", "stated", "expected"),
    [({"min_mm": 30}, {"value": 3, "unit": "cm"}, True), ({"min_mm": 31}, {"value": 3, "unit": "cm"}, False),
     ({"max_mm": 30}, {"value": 3, "unit": "cm"}, False), ({"max_mm": 31}, {"value": 3, "unit": "cm"}, True),
     ({"max_mm": 31}, {"value": 29, "unit": "mm"}, True), ({"min_mm": 1}, None, None)],
    ids=["min-inclusive", "below-min", "max-exclusive", "below-max", "in-mm", "not-stated"],
)
def test_size_minimum_inclusive_maximum_exclusive(mini: Catalog, size: dict[str, float], stated: dict[str, Any] | None,
                                                  expected: bool | None) -> None:
    assert truth(mini, calc(size=size), with_finding(size=stated)) is expected


@pytest.mark.parametrize(("trend", "expected"), [("increased", True), ("new", True), ("stable", False), (None, None)])
def test_change_since_prior(mini: Catalog, trend: str | None, expected: bool | None) -> None:
    doc = with_finding(change={"trend": trend} if trend else None)
    assert truth(mini, calc(change=["new", "increased"]), doc) is expected


@pytest.mark.parametrize(("site", "expected"), [("thigh", True), ("hip", False)])
def test_a_single_site_not_a_set(mini: Catalog, site: str, expected: bool) -> None:
    doc = with_finding(bodySite={"system": "https://rad-ddx.org/fhir/CodeSystem/mini-body-site", "code": site, "display": site})
    assert truth(mini, calc(site=["thigh"]), doc) is expected


def test_site_sets_and_sites_mix(mini: Catalog) -> None:
    assert truth(mini, calc(site=["proximal", "thigh"]), mini_doc()) is True  # the document's calcification is at the hip


def test_any_accepted_attribute_value_matches(mini: Catalog) -> None:
    either = calc(attributes={"mineral": ["calcium", "bone"]})
    assert truth(mini, either, mini_doc()) is True
    assert truth(mini, calc(attributes={"pattern": ["sheet"]}), mini_doc()) is False  # stated rim only


def test_every_constraint_must_hold_and_an_unknown_one_leaves_it_unknown(mini: Catalog) -> None:
    bone_hip = calc(attributes={"mineral": ["bone"]}, site=["hip"])
    assert truth(mini, bone_hip, mini_doc()) is True
    assert truth(mini, bone_hip, with_finding(bodySite=None)) is None
    assert truth(mini, calc(attributes={"mineral": ["calcium"]}, site=["hip"]), with_finding(bodySite=None)) is False


def test_one_matching_finding_of_several_is_enough(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"].insert(0, finding(CALC, attributes={"mineral": "calcium"}))
    assert truth(mini, BONE, doc) is True
    doc["findings"][1]["attributes"] = {"mineral": "calcium"}
    assert truth(mini, BONE, doc) is False


def test_a_list_of_concepts_matches_any_of_them(mini: Catalog) -> None:
    either = {"finding": {"concept": ["toe-anomaly", CALC]}}
    doc = mini_doc()
    assert truth(mini, either, doc) is True
    doc["findings"] = [finding("toe-anomaly")]
    assert truth(mini, either, doc) is True


def test_stated_absent(mini: Catalog) -> None:
    absent = {"finding": {"concept": "toe-anomaly", "status": "absent"}}
    doc = mini_doc()
    assert truth(mini, absent, doc) is None
    doc["findings"].append(finding("toe-anomaly", "absent"))
    assert truth(mini, absent, doc) is True
    doc["findings"][-1]["status"] = "present"
    assert truth(mini, absent, doc) is False


def test_history_stated_absent_and_present(mini: Catalog) -> None:
    no_trauma = {"history": {"concept": "trauma", "status": "absent"}}
    assert truth(mini, no_trauma, mini_doc(history=[history("trauma", "absent")])) is True
    assert truth(mini, no_trauma, mini_doc(history=[history("trauma")])) is False
    assert truth(mini, {"history": {"concept": "trauma"}}, mini_doc(history=[history("trauma", "absent")])) is False


@pytest.mark.parametrize(("weeks", "expected"), [(2, True), (8, False), (7.9, True), (1.9, False)])
def test_onset_minimum_inclusive_maximum_exclusive(mini: Catalog, weeks: float, expected: bool) -> None:
    recent = {"history": {"concept": "trauma", "onset": {"min": {"value": 2, "unit": "wk"}, "max": {"value": 8, "unit": "wk"}}}}
    item = history("trauma", onsetBeforeStudy={"value": weeks, "unit": "wk"})
    assert truth(mini, recent, mini_doc(history=[item])) is expected


@pytest.mark.parametrize(("years", "expected"), [(10, True), (18, False), (9, False), (17, True)])
def test_age_minimum_inclusive_maximum_exclusive(mini: Catalog, years: int, expected: bool) -> None:
    doc = mini_doc()
    doc["patient"]["age"] = {"value": years, "unit": "a"}
    assert truth(mini, {"age": {"min": {"value": 10, "unit": "a"}, "max": {"value": 18, "unit": "a"}}}, doc) is expected
    assert truth(mini, {"age": {"max": {"value": 18, "unit": "a"}}}, doc) is (years < 18)


@pytest.mark.parametrize(("sex", "expected"), [("male", True), ("female", False), ("other", None)])
def test_sex_male(mini: Catalog, sex: str, expected: bool | None) -> None:
    doc = mini_doc()
    doc["patient"]["sex"] = sex
    assert truth(mini, {"sex": "male"}, doc) is expected


# --- labs: reference range at its edges, flags, fixed bounds, multiples of the upper limit ---

RANGE = {"low": 3.0, "high": 5.5}


def value(v: float, unit: str = "mg/dL", flag: str | None = None, **rng: float) -> dict[str, Any]:
    return lab(value={"value": v, "unit": unit}, **({"referenceRange": rng} if rng else {}), **({"interpretation": flag} if flag else {}))


@pytest.mark.parametrize(
    ("result", "high", "low", "normal"),
    [
        (value(5.5, **RANGE), False, False, True),  # at the upper limit: not high
        (value(3.0, **RANGE), False, False, True),  # at the lower limit: not low
        (value(2.9, **RANGE), False, True, False),
        (value(5.6, **RANGE), True, False, False),
        (value(4.0, high=5.5), False, None, None),  # no lower limit and no flag: low unknown, so normal unknown
        (value(4.0, low=3.0), None, False, None),
        (value(4.0), None, None, None),
        (lab(interpretation="H"), True, False, False),
        (lab(interpretation="HH"), True, False, False),
        (lab(interpretation="L"), False, True, False),
        (lab(interpretation="LL"), False, True, False),
        (lab(interpretation="N"), False, False, True),
        (lab(interpretation="A"), None, None, None),  # abnormal, direction not stated
        (value(4.0, flag="N"), False, False, True),  # a value with no range: the flag decides
        (value(7.0, flag="L", **RANGE), True, False, False),  # value and range outrank the flag
        (value(7.0, flag="N", **RANGE), True, False, False),
    ],
)
def test_high_low_normal(mini: Catalog, result: dict[str, Any], high: bool | None, low: bool | None, normal: bool | None) -> None:
    doc = mini_doc(labs=[result])
    got = tuple(truth(mini, {"lab": {"test": "phosphate", kind: True}}, doc) for kind in ("high", "low", "normal"))
    assert got == (high, low, normal)


@pytest.mark.parametrize(
    ("stated", "above", "below"),
    [(value(6.0), False, False), (value(6.1), True, False), (value(5.9), False, True), (lab(interpretation="L"), None, None),
     (value(1.0, "mmol/L"), False, True)],  # 1 mmol/L = 3.1 mg/dL
    ids=["at-the-bound", "over", "under", "flag-only", "converted"],
)
def test_fixed_bounds_are_strict(mini: Catalog, stated: dict[str, Any], above: bool | None, below: bool | None) -> None:
    doc = mini_doc(labs=[stated])
    bound = {"value": 6.0, "unit": "mg/dL"}
    assert truth(mini, {"lab": {"test": "phosphate", "above": bound}}, doc) is above
    assert truth(mini, {"lab": {"test": "phosphate", "below": bound}}, doc) is below


def test_a_bound_in_another_unit_is_converted(mini: Catalog) -> None:
    doc = mini_doc(labs=[value(6.0)])  # 6.0 mg/dL = 1.94 mmol/L
    assert truth(mini, {"lab": {"test": "phosphate", "below": {"value": 2.0, "unit": "mmol/L"}}}, doc) is True
    assert truth(mini, {"lab": {"test": "phosphate", "above": {"value": 0.05, "unit": "g/L"}}}, doc) is True  # 0.05 g/L = 5 mg/dL


@pytest.mark.parametrize(("v", "expected"), [(10.0, True), (9.9, False), (11.0, True)])
def test_uln_multiple_is_at_least(mini: Catalog, v: float, expected: bool) -> None:
    assert truth(mini, {"lab": {"test": "phosphate", "uln_multiple_at_least": 2}}, mini_doc(labs=[value(v, high=5.0)])) is expected


def test_one_high_result_of_several_is_enough(mini: Catalog) -> None:
    results = [value(4.0, **RANGE) | {"id": "l1"}, value(7.0, **RANGE) | {"id": "l2"}]
    assert truth(mini, {"lab": {"test": "phosphate", "high": True}}, mini_doc(labs=results)) is True
    assert truth(mini, {"lab": {"test": "phosphate", "high": True}}, mini_doc(labs=results[:1])) is False


# --- what a pack author reads when a predicate cannot compile: the path to the faulty node and the reason ---

ONSET = {"min": {"value": 2, "unit": "wk"}}


@pytest.mark.parametrize(
    ("predicate", "path", "reason"),
    [
        ({"frobnicate": {}}, "when.frobnicate", "unknown operator 'frobnicate'"),
        ({"all": [BONE, {"finding": {"concept": "unicorn"}}]}, "when.all[1].finding.concept", "concept 'unicorn' is not in the vocabulary"),
        ({"any": [{"history": {"concept": "ghost"}}]}, "when.any[0].history.concept", "concept 'ghost' is not in the vocabulary"),
        ({"not": {"finding": {"concept": "unicorn"}}}, "when.not.finding.concept", "concept 'unicorn' is not in the vocabulary"),
        ({"age": {"min": {"value": 18, "unit": "a"}, "max": {"value": 10, "unit": "a"}}}, "when.age",
         "age range can never hold: min is not below max"),
        ({"age": {"min": {"value": 12, "unit": "mo"}, "max": {"value": 1, "unit": "a"}}}, "when.age",
         "age range can never hold: min is not below max"),  # 12 mo = 1 a: an empty range
        (calc(attributes={"colour": ["red"]}), "when.finding.attributes.colour", "attribute 'colour' is not in the vocabulary"),
        (calc(attributes={"mineral": ["wood", "bone", "glass"]}), "when.finding.attributes.mineral",
         "value(s) ['glass', 'wood'] not defined for 'mineral'"),
        (calc(site=["hip", "moon"]), "when.finding.site", "'moon' is neither a body site nor a site set"),
        (calc(status="absent", site=["hip"]), "when.finding",
         "a test for a finding stated absent cannot also constrain its attributes or timing"),
        (calc(status="absent", count={"min": 1}), "when.finding",
         "a test for a finding stated absent cannot also constrain its attributes or timing"),
        (calc(status="absent", size={"min_mm": 1}), "when.finding",
         "a test for a finding stated absent cannot also constrain its attributes or timing"),
        (calc(status="absent", change=["new"]), "when.finding",
         "a test for a finding stated absent cannot also constrain its attributes or timing"),
        ({"history": {"concept": "trauma", "status": "absent", "onset": ONSET}}, "when.history",
         "a test for a finding stated absent cannot also constrain its attributes or timing"),
        ({"finding": {"concept": "trauma", "site": ["hip"]}}, "when.finding", "can never fire: history items carry no imaging attributes"),
        ({"history": {"concept": CALC, "onset": ONSET}}, "when.history", "can never fire: imaging findings carry no onset"),
        ({"lab": {"test": "unobtainium", "high": True}}, "when.lab.test", "lab 'unobtainium' is not in the vocabulary"),
        ({"lab": {"test": "phosphate", "above": {"value": 1, "unit": "U/L"}}}, "when.lab.above.unit", "'U/L' does not convert to mg/dL"),
        ({"lab": {"test": "phosphate", "below": {"value": 1, "unit": "U/L"}}}, "when.lab.below.unit", "'U/L' does not convert to mg/dL"),
        ({"lab": {"test": "phosphate", "between": [1, 2]}}, "when.lab", "unknown lab comparison 'between'"),  # the schema admits none
    ],
)
def test_a_predicate_that_cannot_compile_names_its_path_and_reason(mini: Catalog, predicate: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(PredicateError) as info:
        compile_predicate(predicate, mini.packs[0].vocabulary)
    assert (info.value.path, info.value.reason, str(info.value)) == (path, reason, reason)


@pytest.mark.parametrize(
    "predicate",
    [
        {"finding": {"concept": ["trauma", CALC], "site": ["hip"]}},  # mixed kinds: the finding can carry a site
        {"history": {"concept": ["trauma", CALC], "onset": ONSET}},
        {"history": {"concept": "toe-anomaly", "onset": ONSET}},  # a concept of kind 'any' may be history
        {"finding": {"concept": "toe-anomaly", "site": ["hip"]}},
        {"age": {"min": {"value": 1, "unit": "a"}}},
        {"age": {"max": {"value": 1, "unit": "a"}}},
    ],
)
def test_predicates_that_can_fire_compile(mini: Catalog, predicate: dict[str, Any]) -> None:
    assert callable(compile_predicate(predicate, mini.packs[0].vocabulary))


def test_the_path_given_is_the_prefix(mini: Catalog) -> None:
    with pytest.raises(PredicateError) as info:
        compile_predicate({"not": {"all": [BONE, {"frobnicate": {}}]}}, mini.packs[0].vocabulary, "clues[3].when")
    assert info.value.path == "clues[3].when.not.all[1].frobnicate"
