"""Our own invariants of every FHIR output, as FHIRPath (fhirpathpy) where FHIRPath says it best.

problems(output) -> a list of messages, empty when the output holds every invariant:
* every reference resolves inside the Bundle (fullUrl) or to a contained resource ('#id', '#' = the container);
  only the subject (Patient/<id> of the receiving EHR) may point outside;
* every contained resource is referenced (dom-3); fullUrls are unique;
* conclusionCode order = RiskAssessment.prediction order = the Conditions by rank (ddx-rank extension);
* no Condition carries the problem-list-item category;
* every machine-asserted resource (DiagnosticReport, RiskAssessment, Condition) carries the AIAST security label
  (contained ones by their container's label, dom-5);
* narratives are XHTML with no active content (txt-1, txt-2); instants are FHIR instants.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from fhirpathpy import compile as fhirpath_compile

from plugin import terms

_COMPILED: dict[str, Any] = {}


def fp(resource: Any, expression: str) -> list[Any]:
    """A FHIRPath expression on a resource; each expression is compiled once."""
    if expression not in _COMPILED:
        _COMPILED[expression] = fhirpath_compile(expression)
    return list(_COMPILED[expression](resource))


ASSERTED = ("DiagnosticReport", "RiskAssessment", "Condition")
INSTANT = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)"
                     r"(\.[0-9]{1,9})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$")
XHTML = "{http://www.w3.org/1999/xhtml}"
ALLOWED_TAGS = {"div", "p", "b", "i", "em", "strong", "ul", "ol", "li", "br", "span", "table", "tr", "td", "th", "thead",
                "tbody", "h1", "h2", "h3", "h4", "h5", "h6", "a", "code", "pre", "small", "sub", "sup", "hr", "caption"}
ALLOWED_ATTRIBUTES = {"class", "style", "href", "name", "title", "id", "lang", "colspan", "rowspan"}


def _refs(node: Any) -> list[str]:
    """Every Reference.reference string, walked in Python (fhirpathpy's descendants() is too slow for every output);
    a CodeableReference's `reference` is itself a Reference and is walked into."""
    out: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            out.append(node["reference"])
        for v in node.values():
            out += _refs(v)
    elif isinstance(node, list):
        for v in node:
            out += _refs(v)
    return out


def _resources(output: dict[str, Any]) -> list[dict[str, Any]]:
    if output.get("resourceType") == "Bundle":
        return [e["resource"] for e in output.get("entry", []) if "resource" in e]
    return [output]


def _narrative(div: str, where: str) -> list[str]:
    try:
        root = ET.fromstring(div)
    except ET.ParseError as exc:
        return [f"{where}: narrative is not well-formed XHTML ({exc})"]
    out = []
    if root.tag != f"{XHTML}div":
        out.append(f"{where}: narrative root is not an XHTML div")
    for el in root.iter():
        tag = el.tag.removeprefix(XHTML)
        if tag not in ALLOWED_TAGS:
            out.append(f"{where}: narrative holds a <{tag}> element (txt-1)")
        bad = [a for a in el.attrib if a not in ALLOWED_ATTRIBUTES or a.lower().startswith("on")]
        if bad:
            out.append(f"{where}: narrative attribute(s) {bad} not allowed (txt-1)")
    if not "".join(root.itertext()).strip():
        out.append(f"{where}: narrative has no text (txt-2)")
    return out


def _ranked_conditions(conditions: list[dict[str, Any]]) -> list[Any]:
    ranks = [fp(c, f"Condition.extension.where(url = '{terms.EXT_RANK}').value") for c in conditions]
    return [c["code"] for _, c in sorted(zip([r[0] if r else 0 for r in ranks], conditions, strict=True), key=lambda x: x[0])]


def problems(output: dict[str, Any], asserted: bool = True) -> list[str]:
    """asserted=False for what the service reads (FHIR input): its DiagnosticReport is the EHR's, not machine-asserted."""
    out: list[str] = []
    bundle = output.get("resourceType") == "Bundle"
    if bundle:
        urls = fp(output, "Bundle.entry.fullUrl")
        if len(urls) != len(set(urls)):
            out.append("duplicate fullUrl")
        targets = set(urls)
    resources = _resources(output)
    for i, r in enumerate(resources):
        where = f"{r.get('resourceType')}[{i}]"
        contained_ids = {"#" + c.get("id", "") for c in r.get("contained", [])} | {"#"}
        for ref in _refs(r):
            if ref.startswith("#"):
                if ref not in contained_ids:
                    out.append(f"{where}: dangling reference {ref}")
            elif ref.startswith("Patient/"):
                continue  # the subject, in the receiving EHR
            elif not bundle or ref not in targets:
                out.append(f"{where}: dangling reference {ref}")
        for c in r.get("contained", []):
            refs_elsewhere = set(_refs({k: v for k, v in r.items() if k != "contained"}))
            for other in r.get("contained", []):
                if other is not c:
                    refs_elsewhere |= set(_refs(other))
            if f"#{c.get('id')}" not in refs_elsewhere and "#" not in _refs(c):  # dom-3: or it refers to its container
                out.append(f"{where}: contained {c.get('resourceType')}/{c.get('id')} is referenced by nothing (dom-3)")
        every = [r, *r.get("contained", [])]
        for x in every:
            kind = x.get("resourceType")
            if kind == "Condition" and fp(x, "Condition.category.coding.where(code = 'problem-list-item').exists()") == [True]:
                out.append(f"{where}: a Condition carries problem-list-item")
            labelled = fp(x, f"meta.security.where(system = '{terms.AIAST['system']}' and code = 'AIAST').exists()") == [True]
            if asserted and kind in ASSERTED and x is r and not labelled:
                out.append(f"{where}: {kind} lacks the AI-asserted label")
            for path in ("issued", "recorded", "timestamp"):
                for v in fp(x, path):
                    if not INSTANT.match(str(v)):
                        out.append(f"{where}: {path} is not a FHIR instant")
            if "text" in x:
                out += _narrative(x["text"].get("div", ""), where)
    if bundle:
        for v in fp(output, "Bundle.timestamp"):
            if not INSTANT.match(str(v)):
                out.append("Bundle.timestamp is not a FHIR instant")
    everything = [x for r in resources for x in (r, *r.get("contained", []))]
    reports = [x for x in everything if x.get("resourceType") == "DiagnosticReport" and "conclusionCode" in x]
    risks = [x for x in everything if x.get("resourceType") == "RiskAssessment"]
    conditions = [x for x in everything if x.get("resourceType") == "Condition" and x.get("extension")]
    for report in reports:
        predicted = [p["outcome"] for risk in risks for p in risk.get("prediction", [])]
        if report["conclusionCode"] != predicted or predicted != _ranked_conditions(conditions):
            out.append("conclusionCode, RiskAssessment.prediction and the Conditions by rank are not in one order")
    return out
