"""Stage 2: a valid findings document -> Report, with pack concepts, days, millimetres and pack lab units.

Codes no loaded pack knows are kept (they still reach the output) and reported as warnings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any

from plugin import units
from plugin.errors import Issue, IssueType, Severity
from plugin.knowledge.catalog import Catalog
from plugin.model import Coding, Fact, FactKind, LabResult, Report


def _coding(c: Mapping[str, str]) -> Coding:
    return Coding(c["system"], c["code"], c.get("display"))


def _unknown(path: str, what: str) -> Issue:
    return Issue(Severity.WARNING, IssueType.CODE_INVALID, f"Code not known to any loaded knowledge pack: this {what} was not evaluated.", path)


def reference_date(doc: Mapping[str, Any]) -> str | None:
    """The date ages and onsets count to: the document's own date (1.1), else its latest study's."""
    dates = [s["date"] for s in doc.get("studies", [])]
    return str(doc["date"]) if "date" in doc else max(dates) if dates else None


def attribute_values(attributes: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {k: (v,) if isinstance(v, str) else tuple(v) for k, v in attributes.items()}


def normalize(doc: Mapping[str, Any], catalog: Catalog) -> Report:
    warnings: list[Issue] = []
    studies = {s["id"]: s["date"] for s in doc.get("studies", [])}
    latest = reference_date(doc)
    patient = doc["patient"]
    age_days: float | None = None
    if "age" in patient:
        age_days = units.to_days(patient["age"]["value"], patient["age"]["unit"])
    elif "birthDate" in patient and latest is not None:
        age_days = float((date.fromisoformat(latest) - date.fromisoformat(patient["birthDate"])).days)

    def lookup(c: Mapping[str, str], kinds: tuple[str, ...], path: str, what: str) -> str | None:
        hit = catalog.codes.get((c["system"], c["code"]))
        if hit is None or hit[1] not in kinds:
            warnings.append(_unknown(path, what))
            return None
        return hit[2]

    facts: list[Fact] = []
    for i, f in enumerate(doc["findings"]):
        here = f"findings[{i}]"
        site = lookup(f["bodySite"], ("site",), f"{here}.bodySite", "body site") if "bodySite" in f else None
        ordered, absent = attribute_values(f.get("attributes", {})), attribute_values(f.get("absentAttributes", {}))
        size = f.get("size")
        change = f.get("change", {})
        interval = change.get("interval")
        coding, site_coding = _coding(f["code"]), _coding(f["bodySite"]) if "bodySite" in f else None
        facts.append(
            Fact(
                id=f["id"], kind=FactKind.FINDING, index=i, coding=coding,
                concept=lookup(f["code"], ("concept",), f"{here}.code", "finding"),
                present=f["status"] == "present", study=f.get("study"), date=studies.get(f["study"]) if "study" in f else latest,
                site=site, site_coding=site_coding,
                laterality=f.get("laterality"),
                attributes={k: frozenset(v) for k, v in ordered.items()}, attribute_order=ordered,
                absent_attributes={k: frozenset(v) for k, v in absent.items()},
                size_mm=units.to_mm(size["value"], size["unit"]) if size else None,
                size=(size["value"], size["unit"]) if size else None,
                # JSON Schema's integer admits 1.0, 1e2 and -0.0; FHIR's valueInteger must be written 1, 100 and 0
                count=int(f["count"]) if "count" in f else None, change=change.get("trend"),
                interval=(interval["value"], interval["unit"]) if interval else None,
                note=f.get("note"),
                pack_coding=catalog.pack_coding(coding, "concept"),
                site_pack_coding=catalog.pack_coding(site_coding, "site") if site_coding else None,
                attribute_codings=tuple(catalog.attribute_codings(k, v) for k, vs in ordered.items() for v in vs),
                absent_attribute_codings=tuple(catalog.attribute_codings(k, v) for k, vs in absent.items() for v in vs),
            )
        )
    for i, h in enumerate(doc.get("history", [])):
        onset = h.get("onsetBeforeStudy")
        onset_days = units.to_days(onset["value"], onset["unit"]) if onset else None
        if "onsetDate" in h and latest is not None:
            onset_days = float((date.fromisoformat(latest) - date.fromisoformat(h["onsetDate"])).days)
        coding = _coding(h["code"])
        facts.append(
            Fact(
                id=h["id"], kind=FactKind.HISTORY, index=i, coding=coding,
                concept=lookup(h["code"], ("concept",), f"history[{i}].code", "history item"),
                present=h["status"] == "present", onset_days=onset_days,
                onset=(onset["value"], onset["unit"]) if onset else None, onset_date=h.get("onsetDate"),
                note=h.get("note"), pack_coding=catalog.pack_coding(coding, "concept"),
            )
        )

    labs: list[LabResult] = []
    for i, lab in enumerate(doc.get("labs", [])):
        test = lookup(lab["code"], ("lab",), f"labs[{i}].code", "lab result")
        value = low = high = None
        raw_value = raw_range = None
        if "value" in lab:
            raw_value = (lab["value"]["value"], lab["value"]["unit"])
            rng = lab.get("referenceRange", {})
            raw_range = (rng.get("low"), rng.get("high")) if rng else None
            if test is not None:
                pack = catalog.codes[(lab["code"]["system"], lab["code"]["code"])][0]
                unit, molar_mass = pack.vocabulary.lab_units[test]
                factor = units.converter(lab["value"]["unit"], unit, molar_mass)
                if factor is not None:  # validation already rejected unconvertible units
                    value = lab["value"]["value"] * factor
                    low = rng["low"] * factor if "low" in rng else None
                    high = rng["high"] * factor if "high" in rng else None
        coding = _coding(lab["code"])
        labs.append(LabResult(lab["id"], i, coding, test, value, low, high, lab.get("interpretation"),
                              raw_value, raw_range, lab.get("date"), catalog.pack_coding(coding, "lab")))

    by_concept: defaultdict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        if fact.concept is not None:
            by_concept[fact.concept].append(fact)
    labs_by_test: defaultdict[str, list[LabResult]] = defaultdict(list)
    for lab_result in labs:
        if lab_result.test is not None:
            labs_by_test[lab_result.test].append(lab_result)
    return Report(
        subject=patient.get("subject"),
        sex=patient.get("sex"),
        age_days=age_days,
        report_codings=tuple(_coding(c) for c in doc.get("reportCode", [])),
        study_date=latest,
        facts=tuple(facts),
        labs=tuple(labs),
        by_concept={k: tuple(v) for k, v in by_concept.items()},
        labs_by_test={k: tuple(v) for k, v in labs_by_test.items()},
        warnings=tuple(warnings),
        clinical_only=not studies,
    )
