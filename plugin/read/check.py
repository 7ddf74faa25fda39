"""Stage 1: the findings document against the JSON Schema and the rules no schema can say.

Every problem is reported (not only the first), each with the exact property path, a FHIR issue
type chosen from the JSON Schema keyword, and a message that never quotes the input's values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from itertools import islice
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # a type only: jsonschema is imported when a pack or schema is invalid, not at start-up
    from jsonschema import ValidationError

from plugin import strict_json, units
from plugin.errors import Issue, IssueType, Severity
from plugin.knowledge.catalog import Catalog
from plugin.read.normalize import attribute_values, reference_date
from plugin.schema_check import SchemaError

MAX_DEPTH = strict_json.MAX_DEPTH
MAX_ISSUES = 100  # past this many, one more issue says how the list was cut: bounded work for hostile input

_KEYWORD_TYPE = {
    "required": IssueType.REQUIRED,
    "type": IssueType.STRUCTURE,
    "additionalProperties": IssueType.STRUCTURE,
    "unevaluatedProperties": IssueType.STRUCTURE,
    "propertyNames": IssueType.STRUCTURE,
    "anyOf": IssueType.STRUCTURE,
    "oneOf": IssueType.STRUCTURE,
    "not": IssueType.STRUCTURE,
    "enum": IssueType.CODE_INVALID,
    "const": IssueType.CODE_INVALID,
}  # everything else (pattern, format, ranges, sizes) is a `value` problem


def parse_strict(body: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity, no duplicate keys, no unpaired surrogates, bounded nesting.

    Linear in the body's size and bounded in Python work: see plugin.strict_json.
    """
    return strict_json.parse(body)


def path_of(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


def _message(err: ValidationError | SchemaError) -> str:
    kw, want = err.validator, cast(Any, err.validator_value)  # set for every error iter_errors yields
    if kw == "type":
        return f"Must be of JSON type {want}."
    if kw == "enum":
        shown = ", ".join(map(str, want[:25])) + (", ..." if len(want) > 25 else "")
        return f"Must be one of: {shown}."
    if kw == "const":
        return f"Must be {json.dumps(want)}."
    if kw == "pattern":
        return "Does not have the required form (see the schema pattern)."
    if kw == "format":
        return f"Must be a valid {want}."
    if kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[kw]
        return f"Must be {op} {want}."
    if kw in ("minLength", "maxLength"):
        return f"Must have {'at least' if kw == 'minLength' else 'at most'} {want} characters."
    if kw in ("minItems", "maxItems"):
        return f"Must have {'at least' if kw == 'minItems' else 'at most'} {want} items."
    if kw in ("minProperties", "maxProperties"):
        return f"Must have {'at least' if kw == 'minProperties' else 'at most'} {want} properties."
    if kw == "uniqueItems":
        return "Items must not repeat."
    if kw in ("anyOf", "oneOf"):
        return "Does not match any allowed form."
    return f"Breaks the schema rule '{kw}'."


def _schema_issues(document: Any, catalog: Catalog) -> Iterator[Issue]:
    for err in catalog.validator.iter_errors(document):
        base = path_of(err.absolute_path)
        kind = _KEYWORD_TYPE.get(err.validator, IssueType.VALUE)
        if err.validator == "required":
            for name in err.validator_value:
                if isinstance(err.instance, Mapping) and name not in err.instance:
                    yield Issue(Severity.ERROR, kind, f"Required property '{name}' is missing.", _join(base, name))
        elif err.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(err.instance, Mapping):
            allowed = set(err.schema.get("properties", {}))
            for name in sorted(set(err.instance) - allowed, key=str):
                yield Issue(Severity.ERROR, kind, "This property is not allowed here.", _join(base, str(name)))
        elif err.validator == "propertyNames":
            yield Issue(Severity.ERROR, kind, "A property name here does not have the required form.", base)
        else:
            yield Issue(Severity.ERROR, kind, _message(err), base or None)


def check(document: Any, catalog: Catalog) -> list[Issue]:
    """All problems with a parsed document; empty when it may be evaluated."""
    # jsonschema reports a `required` failure once per missing property, each naming the whole list: dedupe.
    found = list(islice(_schema_issues(document, catalog), MAX_ISSUES + 1))
    if isinstance(document, Mapping) and len(found) <= MAX_ISSUES:
        flagged = {i.path for i in found if i.path}
        # A document the schema rejects is read by the rules only as far as the schema's bounds: bounded work.
        readable = catalog.validator.bounded(document) if found else document
        rules = (i for i in _rule_issues(readable, catalog, schema_failed=bool(found)) if not _under(i.path, flagged))
        found += islice(rules, MAX_ISSUES + 1 - len(found))
    issues = sorted(set(found[:MAX_ISSUES]), key=lambda i: (i.path or "", i.message))
    if len(found) > MAX_ISSUES:
        issues.append(Issue(Severity.ERROR, IssueType.TOO_LONG, f"More than {MAX_ISSUES} problems: the list stops here."))
    return issues


def _under(path: str | None, flagged: set[str]) -> bool:
    """True when the schema already reported this place (or a part of it): one problem, one issue."""
    return path is not None and any(path == f or path.startswith((f + ".", f + "[")) for f in flagged)


def _err(code: IssueType, message: str, path: str) -> Issue:
    return Issue(Severity.ERROR, code, message, path)


def _unique_ids(doc: Mapping[str, Any], catalog: Catalog) -> Iterator[Issue]:
    for listname in ("studies", "findings", "history", "labs"):
        seen: set[str] = set()
        for i, item in enumerate(doc.get(listname, [])):
            if item["id"] in seen:
                yield _err(IssueType.DUPLICATE, f"This id is already used by an earlier item of {listname}.", f"{listname}[{i}].id")
            seen.add(item["id"])


def _study_references(doc: Mapping[str, Any], catalog: Catalog) -> Iterator[Issue]:
    studies = {s["id"] for s in doc.get("studies", [])}
    for i, f in enumerate(doc["findings"]):
        if "study" in f and f["study"] not in studies:
            yield _err(IssueType.VALUE, "No study with this id is listed in studies.", f"findings[{i}].study")


def _attributes_both_ways(doc: Mapping[str, Any], catalog: Catalog) -> Iterator[Issue]:
    for i, f in enumerate(doc["findings"]):
        stated = attribute_values(f.get("attributes", {}))
        for name, values in attribute_values(f.get("absentAttributes", {})).items():
            both = sorted(set(values) & set(stated.get(name, ())))
            if both:
                yield _err(IssueType.BUSINESS_RULE, f"Stated both present and absent: {', '.join(both)}.",
                           f"findings[{i}].absentAttributes.{name}")


def _dates_and_ages(doc: Mapping[str, Any], catalog: Catalog) -> Iterator[Issue]:
    dates = [s["date"] for s in doc.get("studies", [])]
    if "date" in doc and dates and doc["date"] < max(dates):
        yield _err(IssueType.BUSINESS_RULE, "The document's date is before a study date.", "date")
    latest = reference_date(doc)
    patient = doc["patient"]
    if "age" in patient and "birthDate" in patient:
        yield _err(IssueType.BUSINESS_RULE, "Give either age or birthDate, not both.", "patient.birthDate")
    if "age" in patient and units.to_days(patient["age"]["value"], patient["age"]["unit"]) > units.to_days(130, "a"):
        yield _err(IssueType.VALUE, "Age must not exceed 130 years.", "patient.age.value")
    if latest is None:  # a clinical-only document without its date: nothing to count an age or onset to
        if "birthDate" in patient:
            yield _err(IssueType.REQUIRED, "No study is listed: give the document's date, which birthDate counts to.", "date")
        if any("onsetDate" in h for h in doc.get("history", [])):
            yield _err(IssueType.REQUIRED, "No study is listed: give the document's date, which onsetDate counts to.", "date")
        return
    dates = dates or [latest]
    if "birthDate" in patient:
        born = date.fromisoformat(patient["birthDate"])
        if any(date.fromisoformat(d) < born for d in dates):
            yield _err(IssueType.BUSINESS_RULE, "birthDate is after a study date.", "patient.birthDate")
        elif (date.fromisoformat(latest) - born).days > units.to_days(130, "a"):
            yield _err(IssueType.VALUE, "Age at the study must not exceed 130 years.", "patient.birthDate")
    for i, h in enumerate(doc.get("history", [])):
        if "onsetDate" in h and h["onsetDate"] > latest:
            yield _err(IssueType.BUSINESS_RULE, "onsetDate is after the latest study.", f"history[{i}].onsetDate")
        if "onsetDate" in h and "onsetBeforeStudy" in h:
            yield _err(IssueType.BUSINESS_RULE, "Give either onsetDate or onsetBeforeStudy, not both.", f"history[{i}].onsetDate")


def _code_systems(doc: Mapping[str, Any], catalog: Catalog) -> Iterator[Issue]:
    for path, coding in _codings(doc):
        if coding["system"] not in catalog.known_systems:
            message = "Unknown code system: use SNOMED CT, RadLex, LOINC or a system listed by GET /knowledge."
            yield _err(IssueType.CODE_INVALID, message, f"{path}.system")


def _lab_values(doc: Mapping[str, Any], catalog: Catalog) -> Iterator[Issue]:
    for i, lab in enumerate(doc.get("labs", [])):
        here = f"labs[{i}]"
        if "value" not in lab and "interpretation" not in lab:
            yield _err(IssueType.REQUIRED, "Give a value or an interpretation flag.", here)
        rng = lab.get("referenceRange", {})
        if "low" in rng and "high" in rng and rng["low"] > rng["high"]:
            yield _err(IssueType.VALUE, "Reference range low is above high.", f"{here}.referenceRange")
        if "referenceRange" in lab and "value" not in lab:
            yield _err(IssueType.BUSINESS_RULE, "A reference range needs a value in the same unit.", f"{here}.referenceRange")
        known = catalog.codes.get((lab["code"]["system"], lab["code"]["code"]))
        if "value" in lab and known and known[1] == "lab":
            pack, _, test = known
            unit, molar_mass = pack.vocabulary.lab_units[test]
            factor = units.converter(lab["value"]["unit"], unit, molar_mass)
            if factor is None:
                yield _err(IssueType.VALUE, f"Unit is not a UCUM unit convertible to {unit} for this test.", f"{here}.value.unit")
                continue
            limit = pack.vocabulary.lab_max.get(test)
            for key, number in (("value.value", lab["value"]["value"]), *((f"referenceRange.{k}", v) for k, v in rng.items())):
                if limit is not None and number * factor > limit:
                    yield _err(IssueType.VALUE, f"Above any possible result for this test ({limit:g} {unit}): check the unit.", f"{here}.{key}")


# Cross-field rules no schema can say. Each assumes the parts it reads are well-formed: on a document
# the schema rejects, a rule that meets a malformed part is skipped (the schema issues already say why).
RULES = (_unique_ids, _study_references, _attributes_both_ways, _dates_and_ages, _code_systems, _lab_values)


def _rule_issues(doc: Any, catalog: Catalog, schema_failed: bool) -> Iterator[Issue]:
    for rule in RULES:
        try:
            found = list(rule(doc, catalog))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            if not schema_failed:
                raise
            continue
        yield from found


def _codings(doc: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, str]]]:
    for i, c in enumerate(doc.get("reportCode", [])):
        yield f"reportCode[{i}]", c
    for listname in ("findings", "history", "labs"):
        for i, item in enumerate(doc.get(listname, [])):
            yield f"{listname}[{i}].code", item["code"]
            if "bodySite" in item:
                yield f"{listname}[{i}].bodySite", item["bodySite"]
