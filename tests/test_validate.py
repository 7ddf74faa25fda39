"""Stage 1, validation: every problem, its exact path, an issue type per JSON Schema keyword, the cross-field rules,
and messages that never quote the input. Mostly on the mini pack, whose vocabulary the tests control."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest

from plugin.engine import evaluate, validate_document
from plugin.errors import InputUnreadable, Issue, Severity
from plugin.knowledge.catalog import Catalog
from plugin.read import check as validate
from plugin.schema_check import BoundedValidator
from tests.conftest import MINI_CONCEPT, mini_doc

MARKER = "ZZMARKERZZ"
LOINC_PHOSPHATE = {"system": "http://loinc.org", "code": "2777-1", "display": "Phosphate"}


def issues_of(doc: Any, catalog: Catalog) -> list[Issue]:
    issues = validate.check(doc, catalog)
    assert all(i.severity in (Severity.ERROR, Severity.FATAL) for i in issues)
    return issues


def at(issues: list[Issue], path: str) -> list[Issue]:
    return [i for i in issues if i.path == path]


def one_at(issues: list[Issue], path: str) -> Issue:
    found = at(issues, path)
    assert len(found) == 1, f"expected one issue at {path}, got {issues}"
    return found[0]


def lab(**fields: Any) -> dict[str, Any]:
    return {"id": "l1", "code": dict(LOINC_PHOSPHATE), **fields}


# --- the baseline -------------------------------------------------------------------------------------------------


def test_the_mini_document_is_valid(mini: Catalog) -> None:
    assert validate.check(mini_doc(), mini) == []


def test_validate_document_says_valid_with_one_information_issue(mini: Catalog) -> None:
    outcome = validate_document(mini_doc(), mini)
    assert outcome["resourceType"] == "OperationOutcome"
    assert [i["severity"] for i in outcome["issue"]] == ["information"]


# --- every problem, each at its exact place -----------------------------------------------------------------------


def test_every_schema_problem_is_listed_not_only_the_first(mini: Catalog) -> None:
    doc = mini_doc()
    del doc["findings"][0]["status"]
    doc["findings"][0]["colour"] = "red"
    doc["patient"]["sex"] = "martian"
    doc["studies"][0]["date"] = "2024-13-01"
    doc["labs"] = [lab(value={"value": 1})]
    issues = issues_of(doc, mini)
    assert len(issues) >= 5
    assert {i.path for i in issues} >= {"findings[0].status", "findings[0].colour", "patient.sex", "studies[0].date", "labs[0].value.unit"}


def test_every_rule_problem_is_listed_not_only_the_first(mini: Catalog) -> None:
    doc = mini_doc()
    doc["studies"].append({"id": "s1", "modality": "CT", "date": "2024-03-02"})
    doc["findings"][0]["study"] = "nowhere"
    doc["patient"]["birthDate"] = "2010-01-01"  # with age: both given
    doc["labs"] = [lab()]  # neither value nor interpretation
    issues = issues_of(doc, mini)
    assert len(issues) >= 4
    assert {i.path for i in issues} >= {"studies[1].id", "findings[0].study", "patient.birthDate", "labs[0]"}


def test_schema_and_rule_problems_are_listed_together(mini: Catalog) -> None:
    doc = mini_doc()
    doc["patient"]["sex"] = "martian"  # schema
    doc["studies"].append({"id": "s1", "modality": "CT", "date": "2024-03-02"})  # rule: duplicate id
    doc["findings"][0]["study"] = "nowhere"  # rule: unknown study
    paths = {i.path for i in issues_of(doc, mini)}
    assert {"patient.sex", "studies[1].id", "findings[0].study"} <= paths


def test_missing_required_property_is_named_by_its_own_path(mini: Catalog) -> None:
    doc = mini_doc()
    del doc["findings"][0]["status"]
    issue = one_at(issues_of(doc, mini), "findings[0].status")
    assert issue.code == "required"


def test_each_missing_property_is_one_issue(mini: Catalog) -> None:
    doc = mini_doc()
    del doc["findings"][0]["status"], doc["findings"][0]["code"]
    del doc["studies"][0]["date"]
    issues = issues_of(doc, mini)
    assert sorted(i.path for i in issues) == ["findings[0].code", "findings[0].status", "studies[0].date"]
    assert {i.code for i in issues} == {"required"}


def test_missing_top_level_properties(mini: Catalog) -> None:
    issues = issues_of({}, mini)
    assert sorted(i.path for i in issues) == ["findings", "patient"]  # studies are optional since 1.1 (clinical-only)
    assert {i.code for i in issues} == {"required"}


def test_unknown_property_is_named_by_its_own_path(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0]["colour"] = "red"
    doc["findings"][0]["shade"] = "dark"
    issues = issues_of(doc, mini)
    assert one_at(issues, "findings[0].colour").code == "structure"
    assert one_at(issues, "findings[0].shade").code == "structure"


def test_unknown_top_level_property(mini: Catalog) -> None:
    issues = issues_of(mini_doc(extra=1), mini)
    assert one_at(issues, "extra").code == "structure"


def test_nested_path_into_a_lab_value(mini: Catalog) -> None:
    issues = issues_of(mini_doc(labs=[lab(value={"value": 1.2})]), mini)
    assert one_at(issues, "labs[0].value.unit").code == "required"


def test_a_document_that_is_not_an_object(mini: Catalog) -> None:
    for doc in ([], "text", 3, None):
        issues = issues_of(doc, mini)
        assert len(issues) == 1 and issues[0].code == "structure"


# --- issue type per JSON Schema keyword ---------------------------------------------------------------------------


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return doc


KEYWORD_CASES = [
    # (keyword, where, value, expected path, expected issue type)
    ("type", ("patient", "age", "value"), "fourteen", "patient.age.value", "structure"),
    ("type", ("findings", 0, "count"), 2.5, "findings[0].count", "structure"),
    ("enum", ("patient", "sex"), "martian", "patient.sex", "code-invalid"),
    ("enum", ("studies", 0, "modality"), "XR", "studies[0].modality", "code-invalid"),
    ("pattern", ("studies", 0, "id"), "bad id!", "studies[0].id", "value"),
    ("pattern", ("patient", "subject"), "John Smith", "patient.subject", "value"),
    ("format", ("studies", 0, "date"), "2024-02-30", "studies[0].date", "value"),
    ("minimum", ("patient", "age", "value"), -1, "patient.age.value", "value"),
    ("maximum", ("patient", "age", "value"), 50001, "patient.age.value", "value"),
    ("exclusiveMinimum", ("findings", 0, "size", "value"), 0, "findings[0].size.value", "value"),
    ("minItems", ("findings", 0, "attributes", "pattern"), [], "findings[0].attributes.pattern", "value"),
    ("maxItems", ("studies",), [{"id": f"s{i}", "modality": "CR", "date": "2024-03-01"} for i in range(1, 22)], "studies", "value"),
    ("maxLength", ("findings", 0, "code", "display"), "x" * 201, "findings[0].code.display", "value"),
    ("maxLength", ("findings", 0, "note"), "x" * 1001, "findings[0].note", "value"),
    ("uniqueItems", ("findings", 0, "attributes", "pattern"), ["rim", "rim"], "findings[0].attributes.pattern", "value"),
]


@pytest.mark.parametrize(("keyword", "where", "value", "path", "kind"), KEYWORD_CASES, ids=[f"{c[0]}-{c[3]}" for c in KEYWORD_CASES])
def test_issue_type_follows_the_schema_keyword(mini: Catalog, keyword: str, where: tuple[Any, ...], value: Any, path: str, kind: str) -> None:
    issues = issues_of(_set(mini_doc(), where, value), mini)
    assert issues, f"{keyword} at {path} was not reported"
    assert one_at(issues, path).code == kind


def test_required_and_additional_properties_types(mini: Catalog) -> None:
    doc = mini_doc()
    del doc["patient"]["age"]["unit"]
    doc["patient"]["age"]["units"] = "a"
    issues = issues_of(doc, mini)
    assert one_at(issues, "patient.age.unit").code == "required"
    assert one_at(issues, "patient.age.units").code == "structure"


def test_const_is_a_code_problem(mini: Catalog) -> None:
    """The findings schema uses no `const` today: check the keyword map on a catalog whose schema does."""
    schema = {"type": "object", "properties": {"kind": {"const": "report"}}}
    fake = dataclasses.replace(mini, validator=BoundedValidator(schema))
    issues = validate.check({"kind": MARKER}, fake)
    assert [(i.path, i.code) for i in issues] == [("kind", "code-invalid")]
    assert MARKER not in issues[0].message


# --- the pack's attribute vocabulary ------------------------------------------------------------------------------


def test_unknown_attribute_name_is_an_error(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0]["attributes"]["colour"] = "bone"
    assert one_at(issues_of(doc, mini), "findings[0].attributes.colour").code == "structure"


def test_unknown_attribute_value_is_an_error(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0]["attributes"]["mineral"] = "granite"
    assert one_at(issues_of(doc, mini), "findings[0].attributes.mineral").code == "code-invalid"


def test_unknown_value_inside_a_many_attribute(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0]["attributes"]["pattern"] = ["rim", "spiral"]
    assert one_at(issues_of(doc, mini), "findings[0].attributes.pattern[1]").code == "code-invalid"


def test_every_known_attribute_value_is_accepted(mini: Catalog) -> None:
    for mineral in ("bone", "calcium"):
        doc = mini_doc()
        doc["findings"][0]["attributes"] = {"mineral": mineral, "pattern": ["rim", "sheet"]}
        assert validate.check(doc, mini) == []


def test_array_for_a_one_attribute_is_an_error(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0]["attributes"]["mineral"] = ["bone"]
    assert one_at(issues_of(doc, mini), "findings[0].attributes.mineral").severity == Severity.ERROR


def test_single_value_for_a_many_attribute_is_an_error(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0]["attributes"]["pattern"] = "rim"
    assert one_at(issues_of(doc, mini), "findings[0].attributes.pattern").code == "structure"


# --- the rules no schema can say ----------------------------------------------------------------------------------


@pytest.mark.parametrize("listname", ["studies", "findings", "history", "labs"])
def test_duplicate_ids(mini: Catalog, listname: str) -> None:
    doc = mini_doc()
    item = {
        "studies": {"id": "x1", "modality": "CT", "date": "2024-03-01"},
        "findings": dict(doc["findings"][0], id="x1"),
        "history": {"id": "x1", "status": "present", "code": {"system": MINI_CONCEPT, "code": "trauma", "display": "Trauma"}},
        "labs": lab(id="x1", interpretation="H"),
    }[listname]
    doc[listname] = [*doc.get(listname, []), item, dict(item)]
    issues = issues_of(doc, mini)
    index = len(doc[listname]) - 1
    assert one_at(issues, f"{listname}[{index}].id").code == "duplicate"
    assert len(issues) == 1


def test_finding_referencing_an_unknown_study(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0]["study"] = "s2"
    assert at(issues_of(doc, mini), "findings[0].study")


def test_both_age_and_birth_date(mini: Catalog) -> None:
    doc = mini_doc()
    doc["patient"]["birthDate"] = "2010-01-01"
    issues = issues_of(doc, mini)
    assert len(issues) == 1 and issues[0].path and issues[0].path.startswith("patient.")


@pytest.mark.parametrize(("value", "unit"), [(131, "a"), (1573, "mo"), (48000, "d")])
def test_age_over_130_years(mini: Catalog, value: float, unit: str) -> None:
    doc = mini_doc()
    doc["patient"]["age"] = {"value": value, "unit": unit}
    assert one_at(issues_of(doc, mini), "patient.age.value").code == "value"


def test_age_of_130_years_is_accepted(mini: Catalog) -> None:
    doc = mini_doc()
    doc["patient"]["age"] = {"value": 130, "unit": "a"}
    assert validate.check(doc, mini) == []


def test_birth_date_after_the_study_date(mini: Catalog) -> None:
    doc = mini_doc()
    del doc["patient"]["age"]
    doc["patient"]["birthDate"] = "2024-03-02"
    assert at(issues_of(doc, mini), "patient.birthDate")


def test_birth_date_on_the_study_date_is_accepted(mini: Catalog) -> None:
    doc = mini_doc()
    del doc["patient"]["age"]
    doc["patient"]["birthDate"] = "2024-03-01"
    assert validate.check(doc, mini) == []


def test_birth_date_more_than_130_years_before_the_study(mini: Catalog) -> None:
    doc = mini_doc()
    del doc["patient"]["age"]
    doc["patient"]["birthDate"] = "1890-01-01"
    assert at(issues_of(doc, mini), "patient.birthDate")


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (("findings", 0, "code"), "findings[0].code.system"),
        (("findings", 0, "bodySite"), "findings[0].bodySite.system"),
    ],
)
def test_unknown_code_system(mini: Catalog, where: tuple[Any, ...], path: str) -> None:
    doc = mini_doc()
    _set(doc, (*where, "system"), "https://example.org/not-a-known-system")
    issue = one_at(issues_of(doc, mini), path)
    assert issue.code == "code-invalid"


def test_unknown_code_system_in_report_code_and_labs(mini: Catalog) -> None:
    doc = mini_doc(
        reportCode=[{"system": "urn:oid:1.2.3", "code": "x", "display": "X"}],
        labs=[lab(code={"system": "https://example.org/lab", "code": "p", "display": "P"}, interpretation="H")],
    )
    issues = issues_of(doc, mini)
    assert one_at(issues, "reportCode[0].system").code == "code-invalid"
    assert one_at(issues, "labs[0].code.system").code == "code-invalid"


def test_known_system_with_unknown_code_is_a_warning_not_an_error(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0]["bodySite"] = {"system": "http://radlex.org", "code": "RID99999999", "display": "somewhere"}
    assert validate.check(doc, mini) == []
    bundle = evaluate(doc, mini)
    outcomes = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "OperationOutcome"]
    assert len(outcomes) == 1
    warnings = [i for i in outcomes[0]["issue"] if i["severity"] == "warning"]
    assert warnings and all(i["severity"] != "error" for i in outcomes[0]["issue"])
    assert any(i.get("expression") == ["findings[0].bodySite"] for i in warnings)


def test_lab_with_neither_value_nor_interpretation(mini: Catalog) -> None:
    assert at(issues_of(mini_doc(labs=[lab()]), mini), "labs[0]")


@pytest.mark.parametrize("fields", [{"interpretation": "H"}, {"value": {"value": 4.1, "unit": "mg/dL"}}])
def test_lab_with_value_or_interpretation_is_accepted(mini: Catalog, fields: dict[str, Any]) -> None:
    assert validate.check(mini_doc(labs=[lab(**fields)]), mini) == []


@pytest.mark.parametrize("unit", ["U/L", "mg", "furlongs"])
def test_lab_unit_not_convertible_for_the_test(mini: Catalog, unit: str) -> None:
    issues = issues_of(mini_doc(labs=[lab(value={"value": 1.2, "unit": unit})]), mini)
    assert one_at(issues, "labs[0].value.unit").code == "value"


@pytest.mark.parametrize(("value", "unit"), [(4.1, "mg/dL"), (1.3, "mmol/L"), (41, "mg/L"), (1300, "umol/L")])
def test_mass_and_substance_units_are_both_accepted(mini: Catalog, value: float, unit: str) -> None:
    doc = mini_doc(labs=[lab(value={"value": value, "unit": unit}, referenceRange={"low": value / 2, "high": value * 2})])
    assert validate.check(doc, mini) == []
    evaluate(doc, mini)  # and the evaluation goes through


# --- diagnostics never echo the input -----------------------------------------------------------------------------


def _marked_documents() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = []

    def case(name: str, where: tuple[Any, ...], value: Any) -> None:
        cases.append((name, _set(mini_doc(), where, value)))

    case("enum", ("patient", "sex"), MARKER)
    case("attribute value", ("findings", 0, "attributes", "mineral"), MARKER)
    case("unknown property's value", ("findings", 0, "colour"), MARKER)
    case("bad date", ("studies", 0, "date"), MARKER)
    case("pattern", ("studies", 0, "id"), f"{MARKER} !")
    case("type", ("patient", "age", "value"), MARKER)
    case("maxLength", ("findings", 0, "code", "display"), MARKER * 30)
    case("uri format", ("findings", 0, "code", "system"), f"{MARKER} not a uri")
    case("unknown system", ("findings", 0, "code", "system"), f"https://example.org/{MARKER}")
    case("unknown study", ("findings", 0, "study"), MARKER)
    case("unit", ("findings", 0, "size", "unit"), MARKER)
    doc = mini_doc(labs=[lab(value={"value": 1, "unit": MARKER})])
    cases.append(("lab unit", doc))
    doc = mini_doc()
    doc["studies"].append({"id": MARKER, "modality": "CT", "date": "2024-03-02"})
    doc["studies"].append({"id": MARKER, "modality": "CT", "date": "2024-03-03"})
    cases.append(("duplicate id", doc))
    return cases


@pytest.mark.parametrize(("name", "doc"), _marked_documents(), ids=[c[0] for c in _marked_documents()])
def test_diagnostics_never_echo_input_values(mini: Catalog, name: str, doc: dict[str, Any]) -> None:
    issues = issues_of(doc, mini)
    assert issues, f"{name}: not reported"
    for issue in issues:
        assert MARKER not in issue.message
    outcome = validate_document(doc, mini)
    assert all(MARKER not in i["diagnostics"] for i in outcome["issue"])
    # values are never part of a path either (only property names are)
    assert all(MARKER not in (i.path or "") for i in issues)


def test_unknown_property_name_appears_only_in_the_path(mini: Catalog) -> None:
    doc = mini_doc()
    doc["findings"][0][MARKER] = 1
    issue = one_at(issues_of(doc, mini), f"findings[0].{MARKER}")
    assert MARKER not in issue.message


# --- strict JSON --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b'{"a": "\xff"}',
        b"[" * 100 + b"]" * 100,
        b'{"patient": ',
        b"",
    ],
    ids=["duplicate-key", "nan", "infinity", "-infinity", "bad-utf8", "deep", "truncated", "empty"],
)
def test_parse_strict_refuses(body: bytes) -> None:
    with pytest.raises(InputUnreadable) as err:
        validate.parse_strict(body)
    assert err.value.issues and all(i.severity == Severity.ERROR for i in err.value.issues)


def test_duplicate_keys_are_refused_when_nested() -> None:
    with pytest.raises(InputUnreadable):
        validate.parse_strict(b'{"patient": {"sex": "male", "sex": "female"}}')


def test_nesting_limit_is_exact() -> None:
    depth = validate.MAX_DEPTH
    assert validate.parse_strict(b"[" * depth + b"]" * depth) is not None
    with pytest.raises(InputUnreadable):
        validate.parse_strict(b"[" * (depth + 1) + b"]" * (depth + 1))


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    note = "[" * 200 + '\\"' + "{" * 200
    assert validate.parse_strict(json.dumps({"note": note}).encode())["note"] == note


def test_parse_strict_accepts_a_plain_document() -> None:
    assert validate.parse_strict(json.dumps(mini_doc()).encode()) == mini_doc()


def test_parse_strict_is_linear_on_unterminated_escaped_strings() -> None:
    body = b'"' + b'\\"' * 6_000  # 12 KB: ~0.5 s today; a linear scan takes well under a millisecond
    start = time.perf_counter()
    with pytest.raises(InputUnreadable):
        validate.parse_strict(body)
    assert time.perf_counter() - start < 0.1


def test_lab_value_beyond_any_possible_result_is_refused(catalog: Catalog) -> None:
    from tests.conftest import load_sample, sample_paths

    doc = next(d for d in (load_sample(p.stem) for p in sample_paths()) if any(x["code"]["code"] == "17861-6" for x in d.get("labs", [])))
    lab_index = next(i for i, x in enumerate(doc["labs"]) if x["code"]["code"] == "17861-6")  # total calcium
    doc["labs"][lab_index]["value"] = {"value": 95.0, "unit": "mg/dL"}  # mmol/L meant, or a typing error
    doc["labs"][lab_index].pop("referenceRange", None)
    issues = validate.check(doc, catalog)
    assert [(i.path, i.code) for i in issues] == [(f"labs[{lab_index}].value.value", "value")]
    doc["labs"][lab_index]["value"] = {"value": 2.4, "unit": "mmol/L"}  # the same test in molar units is plausible
    assert validate.check(doc, catalog) == []
