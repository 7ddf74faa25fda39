"""Result -> FHIR R4 JSON: a collection Bundle, or one DiagnosticReport with the rest contained.

Built as dicts (no model objects per request); tests/fhir/test_r4_models.py proves each resource equals
what fhir.resources.R4B makes of it, and the external validators check the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from plugin import __version__, narrative
from plugin.catalog import Catalog
from plugin.fhir import terms as t
from plugin.fhir.outcome import operation_outcome
from plugin.model import Candidate, Fact, LabResult, Result

Json = dict[str, Any]
Ref = Callable[[str], Json]


def _cc(codings: list[Json], text: str | None = None) -> Json:
    out: Json = {"coding": codings}
    if text:
        out["text"] = text
    return out


def _prop(code: str) -> Json:
    return {"system": t.FINDING_PROPERTY, "code": code, "display": t.PROPERTIES[code]}


def _qty(value: float, unit: str) -> Json:
    return {"value": value, "unit": unit, "system": t.UCUM, "code": unit}


class _Builder:
    def __init__(self, result: Result, catalog: Catalog, new_id: Callable[[], str], now: datetime, ref: Callable[[str], str]):
        self.result, self.catalog, self.new_id, self.ref_of = result, catalog, new_id, ref
        self.now = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        report = result.report
        self.subject: Json = (
            {"reference": report.subject} if report.subject
            else {"extension": [{"url": t.EXT_DATA_ABSENT, "valueCode": "unknown"}]}
        )

    def ref(self, ident: str) -> Json:
        return {"reference": self.ref_of(ident)}

    def _pack_coding(self, system: str, code: str, kind: str) -> Json | None:
        hit = self.catalog.codes.get((system, code))
        if hit is None:
            return None
        pack, _, ident = hit
        own = pack.system("concept" if kind in ("concept", "lab") else "body-site")
        if system == own:
            return None
        return {"system": own, "code": ident, "display": pack.display(kind, ident)}

    def _codeable(self, coding: Any, kind: str) -> Json:
        codings = [coding.as_fhir()]
        extra = self._pack_coding(coding.system, coding.code, kind)
        if extra:
            codings.append(extra)
        return _cc(codings, coding.display)

    def fact(self, f: Fact, ident: str) -> Json:
        obs: Json = {"resourceType": "Observation", "id": ident, "status": "final"}
        if f.kind == "finding":
            obs["category"] = [_cc([{"system": t.OBS_CATEGORY, "code": "imaging", "display": "Imaging"}])]
        obs["code"] = self._codeable(f.coding, "concept")
        if self.result.report.subject:
            obs["subject"] = self.subject
        if f.date:
            obs["effectiveDateTime"] = f.date
        elif f.onset_date:
            obs["effectiveDateTime"] = f.onset_date
        obs["valueCodeableConcept"] = _cc([t.PRESENT if f.present else t.ABSENT])
        if f.note:
            obs["note"] = [{"text": f.note}]
        if f.site_coding:
            obs["bodySite"] = self._codeable(f.site_coding, "site")
        components: list[Json] = []
        for name, values in f.attribute_order.items():
            # validation admits only attributes some loaded pack defines: code them in that pack's systems
            owner = next(p for p in self.catalog.packs if name in p.vocabulary.attributes)
            for value in values:
                components.append({
                    "code": _cc([{"system": owner.system("attribute"), "code": name, "display": owner.display("attribute", name)}]),
                    "valueCodeableConcept": _cc([{"system": owner.system("attribute-value"), "code": value,
                                                  "display": owner.display("value", value)}]),
                })
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
            "code": self._codeable(x.coding, "lab"),
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

    def outcome_code(self, c: Candidate) -> Json:
        pack = next(p for p in self.catalog.packs if c.diagnosis_id in p.diagnoses and p.groups.get(c.group_id))
        own = {"system": pack.system("diagnosis"), "code": c.diagnosis_id, "display": c.display}
        return _cc([code.as_fhir() for code in c.codes] + [own], c.display)

    def extensions(self, c: Candidate) -> list[Json]:
        pack = next(p for p in self.catalog.packs if c.diagnosis_id in p.diagnoses)
        return [
            {"url": t.EXT_GROUP, "valueCoding": {"system": pack.system("group"), "code": c.group_id, "display": c.group_display}},
            {"url": t.EXT_RANK, "valueInteger": c.rank},
        ]

    def resources(self, report_id: str) -> list[Json]:
        """All resources, DiagnosticReport first."""
        result, report = self.result, self.result.report
        ids = {"report": report_id, "device": self.new_id(), "provenance": self.new_id()}
        fact_ids = {(f.kind, f.id): self.new_id() for f in report.facts}
        lab_ids = {x.id: self.new_id() for x in report.labs}
        observations = [self.fact(f, fact_ids[(f.kind, f.id)]) for f in report.facts]
        observations += [self.lab(x, lab_ids[x.id]) for x in report.labs]
        basis = [self.ref(fact_ids[(f.kind, f.id)]) for f in report.facts] + [self.ref(lab_ids[x.id]) for x in report.labs]
        by_fact_key = {f"{f.kind}:{f.id}": fact_ids[(f.kind, f.id)] for f in report.facts}
        by_fact_key |= {f"lab:{k}": v for k, v in lab_ids.items()}

        candidates = result.candidates
        # computed once per suggestion, shared by RiskAssessment, Condition and DiagnosticReport (the same JSON twice is fine)
        code_of = {id(c): self.outcome_code(c) for c in candidates}
        ext_of = {id(c): self.extensions(c) for c in candidates}
        why_of = {id(c): narrative.rationale(c) for c in candidates}
        security = {"security": [t.AIAST]}
        extra: list[Json] = []
        dr_ext: list[Json] = []
        if candidates:
            ra_id = self.new_id()
            extra.append({
                "resourceType": "RiskAssessment", "id": ra_id, "meta": security, "status": "preliminary",
                "subject": self.subject, "occurrenceDateTime": report.study_date,
                "basis": basis,
                "prediction": [
                    {
                        "extension": ext_of[id(c)],
                        "outcome": code_of[id(c)],
                        "qualitativeRisk": _cc([{"system": t.RISK_PROBABILITY, "code": c.likelihood,
                                                 "display": f"{c.likelihood_display} likelihood"}]),
                        "rationale": why_of[id(c)],
                    }
                    for c in candidates
                ],
            } if basis else {
                "resourceType": "RiskAssessment", "id": ra_id, "meta": security, "status": "preliminary",
                "subject": self.subject, "occurrenceDateTime": report.study_date,
            })
            dr_ext.append({"url": t.EXT_RISK, "valueReference": self.ref(ra_id)})
            for c in candidates:
                cond_id = self.new_id()
                cond: Json = {
                    "resourceType": "Condition", "id": cond_id, "meta": security, "extension": ext_of[id(c)],
                    "verificationStatus": _cc([t.VER_DIFFERENTIAL]),
                    "category": [_cc([t.COND_ENCOUNTER_DX])],
                    "code": code_of[id(c)],
                    "subject": self.subject,
                }
                detail = []
                for o in c.supporting:
                    for key in o.fact_ids:
                        r = self.ref(by_fact_key[key])
                        if r not in detail:
                            detail.append(r)
                if detail:
                    cond["evidence"] = [{"detail": detail}]
                cond["note"] = [{"text": why_of[id(c)]}]
                extra.append(cond)
                dr_ext.append({"url": t.EXT_SUPPORTING_INFO, "valueReference": self.ref(cond_id)})
        if report.warnings:
            oo_id = self.new_id()
            extra.append(operation_outcome(report.warnings, oo_id))
            dr_ext.append({"url": t.EXT_SUPPORTING_INFO, "valueReference": self.ref(oo_id)})

        codings = [c.as_fhir() for c in report.report_codings]
        if not any(c["system"] == "http://loinc.org" for c in codings):
            codings.append(t.LOINC_IMAGING_STUDY)
        dr: Json = {
            "resourceType": "DiagnosticReport", "id": ids["report"], "meta": security,
            "text": {"status": "generated", "div": narrative.xhtml(result)},
        }
        if dr_ext:
            dr["extension"] = dr_ext
        dr |= {
            "status": "preliminary",
            "category": [_cc([t.CAT_RAD]), _cc([t.CAT_LOINC_RAD])],
            "code": _cc(codings),
        }
        if report.subject:
            dr["subject"] = self.subject
        dr |= {"effectiveDateTime": report.study_date, "issued": self.now}
        results = [self.ref(fact_ids[(f.kind, f.id)]) for f in report.facts if f.kind == "finding"]
        dr["result"] = results
        dr["conclusion"] = narrative.conclusion(result)
        if candidates:
            dr["conclusionCode"] = [code_of[id(c)] for c in candidates]

        device = {
            "resourceType": "Device", "id": ids["device"],
            "deviceName": [{"name": t.DEVICE_NAME, "type": "manufacturer-name"}],
            "version": [{"value": __version__}],
        }
        machine = [ids["report"]] + [r["id"] for r in extra if r["resourceType"] in ("RiskAssessment", "Condition")]
        provenance = {
            "resourceType": "Provenance", "id": ids["provenance"],
            "target": [self.ref(i) for i in machine],
            "recorded": self.now,
            "agent": [{
                "type": _cc([{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                              "code": "author", "display": "Author"}]),
                "who": self.ref(ids["device"]),
            }],
            "entity": [
                {"role": "source", "what": {"identifier": {"system": f"{t.CANONICAL}/knowledge-pack", "value": f"{p.pack_id}|{p.pack_version}"},
                                            "display": f"{p.pack_title} {p.pack_version}"}}
                for p in result.packs
            ],
        }
        return [dr, *observations, *extra, provenance, device]


def build_bundle(result: Result, catalog: Catalog, new_id: Callable[[], str], now: datetime) -> Json:
    """A Bundle of type collection; fullUrls are urn:uuid and every internal reference resolves inside it."""
    builder = _Builder(result, catalog, new_id, now, lambda i: f"urn:uuid:{i}")
    entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in builder.resources(new_id())]
    return {"resourceType": "Bundle", "id": new_id(), "type": "collection", "timestamp": builder.now, "entry": entries}


def build_contained(result: Result, catalog: Catalog, new_id: Callable[[], str], now: datetime) -> Json:
    """One DiagnosticReport carrying everything else as contained resources ('#id' references; '#' is the report)."""
    report_id = new_id()
    builder = _Builder(result, catalog, new_id, now, lambda i: "#" if i == report_id else f"#{i}")
    dr, *rest = builder.resources(report_id)
    # dom-5: contained resources carry no security labels; the container's AIAST label covers them.
    rest = [{k: v for k, v in r.items() if k != "meta"} for r in rest]
    head = {k: dr[k] for k in ("resourceType", "id", "meta", "text")}
    return head | {"contained": rest} | {k: v for k, v in dr.items() if k not in head}
