"""Result -> FHIR R4 JSON: a collection Bundle, or one DiagnosticReport with the rest contained.

Built as dicts (no model objects per request); tests/fhir/test_r4_models.py proves each resource equals
what fhir.resources.R4B makes of it, and the external validators check the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from plugin import terms as t
from plugin import text_safety
from plugin.model import Candidate, Coding, Fact, LabResult, Result
from plugin.version import __version__
from plugin.write import narrative
from plugin.write.outcome import operation_outcome

Json = dict[str, Any]


def _cc(codings: list[Json], text: str | None = None) -> Json:
    out: Json = {"coding": codings}
    if text:
        out["text"] = text
    return out


def _prop(code: str) -> Json:
    return {"system": t.FINDING_PROPERTY, "code": code, "display": t.PROPERTIES[code]}


def _sent(coding: Coding) -> Json:
    """A coding as the request sent it; its display is request text, made a valid FHIR string (or left out)."""
    out = {"system": coding.system, "code": coding.code}
    display = text_safety.string(coding.display) if coding.display else None
    if display:
        out["display"] = display
    return out


def _qty(value: float, unit: str) -> Json:
    return {"value": value, "unit": unit, "system": t.UCUM, "code": unit}


class _Builder:
    def __init__(self, result: Result, new_id: Callable[[], str], now: datetime, ref: Callable[[str], str]):
        self.result, self.new_id, self.ref_of = result, new_id, ref
        self.now = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        self._attributes: dict[tuple[str, str, str, str, bool], Json] = {}
        self._parts: dict[int, list[tuple[str, str]]] = {}  # each diagnosis's line, by id() of its Candidate: built once
        report = result.report
        self.subject: Json = (
            {"reference": report.subject} if report.subject
            else {"extension": [{"url": t.EXT_DATA_ABSENT, "valueCode": "unknown"}]}
        )

    def attribute(self, name: Coding, value: Coding, absent: bool = False) -> Json:
        """One attribute component, built once per request: 200 findings repeat the same few dozen (a 3 MB Bundle).

        A value stated absent (findings schema 1.1) carries the interpretation NEG: "an absence finding of the
        specified component" in HL7 v3 ObservationInterpretation, so a receiver that ignores it still reads a code
        it knows rather than a value that looks present."""
        key = (name.system, name.code, value.system, value.code, absent)
        if key not in self._attributes:
            component: Json = {"code": _cc([name.as_fhir()]), "valueCodeableConcept": _cc([value.as_fhir()])}
            if absent:
                component["interpretation"] = [_cc([t.NEGATIVE])]
            self._attributes[key] = component
        return self._attributes[key]

    def ref(self, ident: str) -> Json:
        return {"reference": self.ref_of(ident)}

    @staticmethod
    def _codeable(coding: Coding, pack_coding: Coding | None) -> Json:
        """The input coding (text made valid FHIR), then the pack's own coding when the input used a standard code."""
        first = _sent(coding)
        codings = [first] + ([pack_coding.as_fhir()] if pack_coding else [])
        return _cc(codings, first.get("display"))

    def fact(self, f: Fact, ident: str) -> Json:
        obs: Json = {"resourceType": "Observation", "id": ident, "status": "final"}
        on_exam = f.kind == "finding" and f.study is None  # findings schema 1.1: found on clinical examination
        if f.kind == "finding":
            obs["category"] = [_cc([t.OBS_EXAM if on_exam else t.OBS_IMAGING])]
        obs["code"] = self._codeable(f.coding, f.pack_coding)
        if self.result.report.subject:
            obs["subject"] = self.subject
        if f.date:
            obs["effectiveDateTime"] = f.date
        elif f.onset_date:
            obs["effectiveDateTime"] = f.onset_date
        obs["valueCodeableConcept"] = _cc([t.PRESENT if f.present else t.ABSENT])
        note = text_safety.markdown(f.note) if f.note else None  # Annotation.text is markdown: it renders as plain text
        if note:
            obs["note"] = [{"text": note}]
        if f.site_coding:
            obs["bodySite"] = self._codeable(f.site_coding, f.site_pack_coding)
        if on_exam:
            obs["method"] = {"text": "Clinical examination"}
        components: list[Json] = [self.attribute(name, value) for name, value in f.attribute_codings]
        components += [self.attribute(name, value, absent=True) for name, value in f.absent_attribute_codings]
        if f.laterality:
            components.append({"code": _cc([_prop("laterality")]), "valueCodeableConcept": _cc([_prop(f.laterality)])})
        if f.size:
            components.append({"code": _cc([_prop("size")]), "valueQuantity": _qty(*f.size)})
        if f.count is not None:
            components.append({"code": _cc([_prop("count")]), "valueInteger": f.count})
        if f.change:
            coding = t.CHANGE_RADLEX.get(f.change) or _prop(f.change)
            components.append({"code": _cc([_prop("change")]), "valueCodeableConcept": _cc([coding])})
        if f.interval:
            components.append({"code": _cc([_prop("change-interval")]), "valueQuantity": _qty(*f.interval)})
        if f.onset:
            components.append({"code": _cc([_prop("onset-before-study")]), "valueQuantity": _qty(*f.onset)})
        if components:
            obs["component"] = components
        return obs

    def lab(self, x: LabResult, ident: str) -> Json:
        obs: Json = {
            "resourceType": "Observation", "id": ident, "status": "final",
            "category": [_cc([{"system": t.OBS_CATEGORY, "code": "laboratory", "display": "Laboratory"}])],
            "code": self._codeable(x.coding, x.pack_coding),
        }
        if self.result.report.subject:
            obs["subject"] = self.subject
        if x.date:
            obs["effectiveDateTime"] = x.date
        if x.raw_value:
            obs["valueQuantity"] = _qty(*x.raw_value)
        if x.flag:
            obs["interpretation"] = [_cc([{"system": t.INTERPRETATION, "code": x.flag, "display": t.INTERPRETATION_DISPLAY[x.flag]}])]
        if x.raw_range and x.raw_value:
            low, high = x.raw_range
            rng: Json = {}
            if low is not None:
                rng["low"] = _qty(low, x.raw_value[1])
            if high is not None:
                rng["high"] = _qty(high, x.raw_value[1])
            obs["referenceRange"] = [rng]
        return obs

    @staticmethod
    def outcome_code(c: Candidate) -> Json:
        return _cc([code.as_fhir() for code in (*c.codes, c.pack_coding)], c.display)

    @staticmethod
    def extensions(c: Candidate) -> list[Json]:
        return [{"url": t.EXT_GROUP, "valueCoding": c.group_coding.as_fhir()}, {"url": t.EXT_RANK, "valueInteger": c.rank}]

    def differential(self, basis: list[Json], evidence_ref: dict[str, str]) -> list[Json]:
        """The RiskAssessment (predictions in rank order) and one Condition per suggestion; nothing when out of scope."""
        ranked = self.result.candidates
        if not ranked:
            return []
        security = {"security": [t.AIAST]}
        predictions, conditions = [], []
        for c in ranked:
            self._parts[id(c)] = line = narrative.parts(c)
            code, extensions, why = self.outcome_code(c), self.extensions(c), narrative.rationale(c, line)
            predictions.append({
                "extension": extensions, "outcome": code,
                "qualitativeRisk": _cc([{"system": t.RISK_PROBABILITY, "code": c.likelihood, "display": f"{c.likelihood_display} likelihood"}]),
                "rationale": why,
            })
            condition: Json = {
                "resourceType": "Condition", "id": self.new_id(), "meta": security, "extension": extensions,
                "verificationStatus": _cc([t.VER_DIFFERENTIAL]), "category": [_cc([t.COND_ENCOUNTER_DX])],
                "code": code, "subject": self.subject,
            }
            detail = [self.ref(i) for i in dict.fromkeys(evidence_ref[key] for o in c.supporting for key in o.fact_ids)]
            if detail:
                condition["evidence"] = [{"detail": detail}]
            condition["note"] = [{"text": text_safety.markdown(why) or why}]
            conditions.append(condition)
        risk = {
            "resourceType": "RiskAssessment", "id": self.new_id(), "meta": security, "status": "preliminary",
            "subject": self.subject, "occurrenceDateTime": self.result.report.study_date, "basis": basis, "prediction": predictions,
        }
        if risk["occurrenceDateTime"] is None:  # a clinical-only document without its date
            del risk["occurrenceDateTime"]
        return [risk, *conditions]

    def diagnostic_report(self, report_id: str, results: list[Json], linked: list[Json]) -> Json:
        report, security = self.result.report, {"security": [t.AIAST]}
        codings = [_sent(c) for c in report.report_codings]
        if not report.clinical_only and not any(c["system"] == "http://loinc.org" for c in codings):
            codings.append(t.LOINC_IMAGING_STUDY)
        dr: Json = {"resourceType": "DiagnosticReport", "id": report_id, "meta": security,
                    "text": {"status": "generated", "div": narrative.xhtml(self.result, self._parts)}}
        extensions = [{"url": t.EXT_RISK if r["resourceType"] == "RiskAssessment" else t.EXT_SUPPORTING_INFO,
                       "valueReference": self.ref(r["id"])} for r in linked]
        if extensions:
            dr["extension"] = extensions
        code = _cc(codings) if codings else {"text": "Clinical findings: differential diagnosis"}
        dr |= {"status": "preliminary"}
        if not report.clinical_only:  # a document without imaging is no radiology report
            dr["category"] = [_cc([t.CAT_RAD]), _cc([t.CAT_LOINC_RAD])]
        dr["code"] = code
        if report.subject:
            dr["subject"] = self.subject
        if report.study_date:
            dr["effectiveDateTime"] = report.study_date
        dr |= {"issued": self.now, "result": results,
               "conclusion": narrative.conclusion(self.result)}
        codes = [r["outcome"] for x in linked if x["resourceType"] == "RiskAssessment" for r in x["prediction"]]
        if codes:
            dr["conclusionCode"] = codes
        return dr

    def provenance(self, targets: list[str], device_id: str) -> Json:
        return {
            "resourceType": "Provenance", "id": self.new_id(), "target": [self.ref(i) for i in targets], "recorded": self.now,
            "agent": [{
                "type": _cc([{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "author", "display": "Author"}]),
                "who": self.ref(device_id),
            }],
            "entity": [
                {"role": "source", "what": {"identifier": {"system": f"{t.CANONICAL}/knowledge-pack", "value": f"{p.pack_id}|{p.pack_version}"},
                                            "display": f"{p.pack_title} {p.pack_version}"}}
                for p in self.result.packs
            ],
        }

    def resources(self, report_id: str) -> list[Json]:
        """All resources, DiagnosticReport first: the report, its Observations, the differential, warnings, provenance."""
        report = self.result.report
        fact_ids = {f"{f.kind}:{f.id}": self.new_id() for f in report.facts} | {f"lab:{x.id}": self.new_id() for x in report.labs}
        observations = [self.fact(f, fact_ids[f"{f.kind}:{f.id}"]) for f in report.facts]
        observations += [self.lab(x, fact_ids[f"lab:{x.id}"]) for x in report.labs]
        differential = self.differential([self.ref(i) for i in fact_ids.values()], fact_ids)
        warnings = [operation_outcome(report.warnings, self.new_id())] if report.warnings else []
        results = [self.ref(fact_ids[f"finding:{f.id}"]) for f in report.facts if f.kind == "finding"]
        # History and lab Observations are the report's supporting information. Said here, not only in RiskAssessment.basis:
        # out of scope there is no RiskAssessment, and a contained resource nothing refers to breaks dom-3.
        context = [o for o, f in zip(observations, [*report.facts, *report.labs], strict=True) if getattr(f, "kind", "lab") != "finding"]
        dr = self.diagnostic_report(report_id, results, differential + warnings + context)
        device: Json = {"resourceType": "Device", "id": self.new_id(), "deviceName": [{"name": t.DEVICE_NAME, "type": "manufacturer-name"}],
                  "version": [{"value": __version__}]}
        provenance = self.provenance([report_id] + [r["id"] for r in differential], device["id"])
        return [dr, *observations, *differential, *warnings, provenance, device]


def build_bundle(result: Result, new_id: Callable[[], str], now: datetime) -> Json:
    """A Bundle of type collection; fullUrls are urn:uuid and every internal reference resolves inside it."""
    builder = _Builder(result, new_id, now, lambda i: f"urn:uuid:{i}")
    entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in builder.resources(new_id())]
    return {"resourceType": "Bundle", "id": new_id(), "type": "collection", "timestamp": builder.now, "entry": entries}


def build_contained(result: Result, new_id: Callable[[], str], now: datetime) -> Json:
    """One DiagnosticReport carrying everything else as contained resources ('#id' references; '#' is the report)."""
    report_id = new_id()
    builder = _Builder(result, new_id, now, lambda i: "#" if i == report_id else f"#{i}")
    dr, *rest = builder.resources(report_id)
    # dom-5: contained resources carry no security labels; the container's AIAST label covers them.
    rest = [{k: v for k, v in r.items() if k != "meta"} for r in rest]
    head = {k: dr[k] for k in ("resourceType", "id", "meta", "text")}
    return head | {"contained": rest} | {k: v for k, v in dr.items() if k not in head}
