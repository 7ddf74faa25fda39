"""Fast invariants of one FHIR R4 Bundle (the `bundle` shape), for outputs that have no expected answer.

Not a model round trip (the tests prove the outputs equal what fhir.resources makes of them): three cheap checks a
harness run over generated reports can afford for every output.

1. References resolve: every `reference` in the Bundle names an entry's fullUrl.
2. Ranks and orders agree: the RiskAssessment's predictions and the Conditions carry ddx-rank 1..n in order, name the
   same diagnoses in the same order, and the DiagnosticReport's conclusion numbers the same n lines.
3. Required elements present: Bundle.type, every entry's fullUrl (`urn:uuid:` + its resource id), and the elements each
   resource type must have here.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

RANK = "https://rad-ddx.org/fhir/StructureDefinition/ddx-rank"
REQUIRED: dict[str, tuple[str, ...]] = {
    "DiagnosticReport": ("status", "code", "conclusion", "issued"),  # subject only when the document names the patient
    "Observation": ("status", "code"),
    "RiskAssessment": ("status", "subject", "prediction"),
    "Condition": ("subject", "code", "verificationStatus"),
    "Provenance": ("target", "recorded", "agent"),
    "Device": ("deviceName",),
    "OperationOutcome": ("issue",),
}


# In orjson's output a string never holds an unescaped quote, so this finds every reference's value, at C speed.
_REFERENCE = re.compile(rb'"reference":"([^"\\]*)"')


def _rank(resource: dict[str, Any]) -> int | None:
    return next((e["valueInteger"] for e in resource.get("extension", ()) if e.get("url") == RANK), None)


def problems(body: bytes) -> list[str]:
    """Every broken invariant of a Bundle as orjson wrote it, as a short text; empty when all hold."""
    bundle = orjson.loads(body)
    out: list[str] = []
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "collection" or not bundle.get("entry"):
        return ["not a collection Bundle with entries"]
    urls = set()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        res = entry.get("resource", {})
        kind = res.get("resourceType", "?")
        if entry.get("fullUrl") != f"urn:uuid:{res.get('id')}":
            out.append(f"{kind}: fullUrl is not urn:uuid:<id>")
        urls.add(entry.get("fullUrl"))
        by_type.setdefault(kind, []).append(res)
        out += [f"{kind}: no {name}" for name in REQUIRED.get(kind, ()) if name not in res]
    out += [f"reference {r!r} does not resolve" for r in _REFERENCE.findall(body) if r.decode() not in urls]
    reports = by_type.get("DiagnosticReport", [])
    if len(reports) != 1:
        return [*out, f"{len(reports)} DiagnosticReports"]
    conditions = by_type.get("Condition", [])
    predictions = [p for ra in by_type.get("RiskAssessment", []) for p in ra.get("prediction", [])]
    n = len(conditions)
    if [_rank(c) for c in conditions] != list(range(1, n + 1)):
        out.append("Condition ranks are not 1..n in order")
    if [_rank(p) for p in predictions] != list(range(1, len(predictions) + 1)) or len(predictions) != n:
        out.append("prediction ranks are not 1..n in order, one per Condition")
    elif [p["outcome"].get("text") for p in predictions] != [c["code"].get("text") for c in conditions]:
        out.append("predictions and Conditions name different diagnoses or orders")
    numbered = [line for line in reports[0]["conclusion"].split("\n") if line[:1].isdigit()]
    if [line.split(". ", 1)[0] for line in numbered] != [str(k) for k in range(1, n + 1)]:
        out.append("the conclusion's numbered lines do not match the ranks")
    return out
