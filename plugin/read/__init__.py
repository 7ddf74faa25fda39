"""Stage 1, read: a document of a supported input form -> the normalised Report, or every problem as an Issue.

One registry of readers, used alike by the engine, the HTTP routes and the CLI. Adding an input form = one module
with a Reader (parse bytes, check a parsed document, turn a valid one into a Report) plus one entry in READERS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from plugin.errors import InputInvalid, Issue
from plugin.knowledge.catalog import Catalog
from plugin.model import Report
from plugin.read import check as findings_check
from plugin.read import fhir_input
from plugin.read.normalize import normalize


@dataclass(frozen=True, slots=True)
class Reader:
    name: str
    description: str
    media_types: tuple[str, ...]
    parse: Callable[[bytes], Any]  # bytes -> a parsed document; raises InputUnreadable
    check: Callable[[Any, Catalog], list[Issue]]  # every problem of a parsed document; empty when it may be read
    to_report: Callable[[Any, Catalog], Report]  # only for a document check() accepted


READERS: dict[str, Reader] = {
    r.name: r for r in (
        Reader("findings", "the findings JSON of schemas/findings-report.schema.json", ("application/json",),
               findings_check.parse_strict, findings_check.check, normalize),
        Reader("fhir-input", "a FHIR R4 Bundle of type collection of imaging Observations (mappings/fhir/fhir-input-profile.md)",
               ("application/fhir+json",), findings_check.parse_strict, fhir_input.check, fhir_input.to_report),
    )
}
DEFAULT_FORM = "findings"


def form_of(document: Any) -> str:
    """The input form a parsed document is in, told apart by its content (for the CLI): a FHIR Bundle or findings JSON."""
    return "fhir-input" if isinstance(document, dict) and document.get("resourceType") == "Bundle" else DEFAULT_FORM


def read(document: Any, catalog: Catalog, form: str = DEFAULT_FORM) -> Report:
    """The Report of a parsed document; raise InputInvalid listing every problem when it cannot be read."""
    reader = READERS[form]
    issues = reader.check(document, catalog)
    if issues:
        raise InputInvalid(issues)
    return reader.to_report(document, catalog)


def problems(document: Any, catalog: Catalog, form: str = DEFAULT_FORM) -> list[Issue]:
    """Every problem of a parsed document, without reading it further."""
    return READERS[form].check(document, catalog)
