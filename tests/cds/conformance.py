"""CDS Hooks 2.0 conformance: JSON Schemas written from the specification (tests/cds/schemas/) and the card rules as
FHIRPath invariants (fhirpathpy) where the specification states them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from fhirpathpy import evaluate as fhirpath
from referencing.jsonschema import DRAFT202012

HERE = Path(__file__).parent
SCHEMAS = {p.stem.removesuffix(".schema"): json.loads(p.read_text(encoding="utf-8")) for p in (HERE / "schemas").glob("*.json")}
REGISTRY = referencing.Registry().with_resources(
    (s["$id"], referencing.Resource(contents=s, specification=DRAFT202012)) for s in SCHEMAS.values())
EXAMPLES = HERE / "spec_examples"

# (name, FHIRPath over a response, what the specification says)
CARD_INVARIANTS = [
    ("summary-length", "cards.all(summary.length() < 140)", "summary: a one-sentence, <140-character message"),
    ("indicator", "cards.all(indicator in ('info' | 'warning' | 'critical'))", "indicator: info, warning or critical"),
    ("selection-behavior", "cards.where(suggestions.exists()).all(selectionBehavior in ('at-most-one' | 'any'))",
     "if suggestions are present, selectionBehavior MUST also be provided"),
    ("action-description", "cards.suggestions.actions.all(description.exists())", "every action has a description (REQUIRED)"),
    ("action-resource", "cards.suggestions.actions.where(type = 'create' or type = 'update').all(resource.exists())",
     "a create or update action carries the resource"),
    ("override-display", "cards.overrideReasons.all(display.exists())",
     "override reasons: the CDS Service MUST populate a display value"),
    ("source-label", "cards.all(source.label.exists())", "source.label is REQUIRED"),
]


def schema_errors(kind: str, document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMAS[kind], registry=REGISTRY, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def invariant_failures(response: Any) -> list[str]:
    return [f"{name}: {said}" for name, path, said in CARD_INVARIANTS if fhirpath(response, path, {}) != [True]]


def response_problems(response: Any) -> list[str]:
    return schema_errors("response", response) + invariant_failures(response)


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
