"""JSON Schema `format` is an annotation unless a format checker runs: prove each format the findings schema uses
is really checked, with a valid and an invalid value in every place it is used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from plugin import paths
from plugin.knowledge.catalog import Catalog
from plugin.read import check as validate
from tests.conftest import MINI_CONCEPT, mini_doc, values_of

CHECKED_FORMATS = {"date", "uri"}


def formats_in(node: Any) -> Iterator[str]:
    return values_of(node, "format")


def test_every_format_the_schema_uses_has_tests_here(mini: Catalog) -> None:
    shipped = json.loads((paths.SCHEMAS_DIR / paths.FINDINGS_SCHEMA).read_text(encoding="utf-8"))
    assert set(formats_in(shipped)) == CHECKED_FORMATS
    assert set(formats_in(dict(mini.findings_schema))) == CHECKED_FORMATS


def _with_date(where: str, value: str) -> tuple[dict[str, Any], str]:
    doc = mini_doc()
    if where == "studies[0].date":
        doc["studies"][0]["date"] = value
    elif where == "patient.birthDate":
        del doc["patient"]["age"]
        doc["patient"]["birthDate"] = value
    elif where == "history[0].onsetDate":
        doc["history"] = [
            {"id": "h1", "status": "present", "onsetDate": value, "code": {"system": MINI_CONCEPT, "code": "trauma", "display": "Trauma"}}
        ]
    elif where == "labs[0].date":
        doc["labs"] = [
            {"id": "l1", "interpretation": "H", "date": value, "code": {"system": "http://loinc.org", "code": "2777-1", "display": "Phosphate"}}
        ]
    return doc, where


DATE_PLACES = ["studies[0].date", "patient.birthDate", "history[0].onsetDate", "labs[0].date"]


@pytest.mark.parametrize("where", DATE_PLACES)
@pytest.mark.parametrize("value", ["2024-02-29", "2020-01-01", "2023-12-31"])
def test_valid_dates(mini: Catalog, where: str, value: str) -> None:
    doc, _ = _with_date(where, value)
    if where == "studies[0].date":
        doc["studies"][0]["date"] = "2024-03-01"  # keep the study last; a valid date is valid wherever it is
        doc["studies"].append({"id": "s2", "modality": "CT", "date": value})
    assert validate.check(doc, mini) == []


@pytest.mark.parametrize("where", DATE_PLACES)
@pytest.mark.parametrize(
    "value",
    [
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "2024-3-1",
        "20240301",
        "2024-03-01T00:00:00",
        "01/03/2024",
        "2024-W09-5",
        " 2024-03-01",
        "not a date",
    ],
)
def test_invalid_dates(mini: Catalog, where: str, value: str) -> None:
    doc, path = _with_date(where, value)
    issues = validate.check(doc, mini)
    assert [(i.path, i.code) for i in issues] == [(path, "value")]
    assert value not in issues[0].message


CODING_PLACES = ["findings[0].code", "findings[0].bodySite", "reportCode[0]", "history[0].code", "labs[0].code"]


def _with_system(where: str, system: str) -> dict[str, Any]:
    doc = mini_doc(
        reportCode=[{"system": "http://loinc.org", "code": "36554-4", "display": "XR"}],
        history=[{"id": "h1", "status": "present", "code": {"system": MINI_CONCEPT, "code": "trauma", "display": "Trauma"}}],
        labs=[{"id": "l1", "interpretation": "H", "code": {"system": "http://loinc.org", "code": "2777-1", "display": "P"}}],
    )
    target = {
        "findings[0].code": doc["findings"][0]["code"],
        "findings[0].bodySite": doc["findings"][0]["bodySite"],
        "reportCode[0]": doc["reportCode"][0],
        "history[0].code": doc["history"][0]["code"],
        "labs[0].code": doc["labs"][0]["code"],
    }[where]
    target["system"] = system
    return doc


@pytest.mark.parametrize("where", CODING_PLACES)
@pytest.mark.parametrize("system", ["http://snomed.info/sct", "http://loinc.org", MINI_CONCEPT])
def test_valid_uris(mini: Catalog, where: str, system: str) -> None:
    assert validate.check(_with_system(where, system), mini) == []


@pytest.mark.parametrize("where", CODING_PLACES)
@pytest.mark.parametrize("system", ["not a uri", "loinc.org", "relative/path", "http://exa mple.org", "http://[::1", ":no-scheme"])
def test_invalid_uris(mini: Catalog, where: str, system: str) -> None:
    issues = validate.check(_with_system(where, system), mini)
    assert [(i.path, i.code) for i in issues] == [(f"{where}.system", "value")]
    assert system not in issues[0].message


@pytest.mark.parametrize("system", ["urn:oid:2.16.840.1.113883.6.1", "https://example.org/codes"])
def test_a_well_formed_but_unknown_uri_passes_the_format_and_fails_the_known_systems_rule(mini: Catalog, system: str) -> None:
    issues = validate.check(_with_system("findings[0].code", system), mini)
    assert [(i.path, i.code) for i in issues] == [("findings[0].code.system", "code-invalid")]
