"""A findings document -> the same report as a FHIR R4 `collection` Bundle (`ddx convert FILE --to fhir-input`).

The inverse of plugin/read/fhir_input.py, element for element as mappings/fhir/fhir-input-profile.md says; a test proves
that both forms of every sample give the same differential.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from plugin import terms as t
from plugin.read.normalize import attribute_values

Json = dict[str, Any]


def _url(kind: str, ident: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{t.CANONICAL}/fhir-input/{kind}/{ident}')}"


def _cc(*codings: Mapping[str, Any]) -> Json:
    return {"coding": [dict(c) for c in codings]}


def _prop(code: str) -> Json:
    return {"system": t.FINDING_PROPERTY, "code": code, "display": t.PROPERTIES[code]}


def _qty(q: Mapping[str, Any]) -> Json:
    return {"value": q["value"], "unit": q["unit"], "system": t.UCUM, "code": q["unit"]}


def _finding(f: Mapping[str, Any], subject: Json, study_url: str | None, date: str | None, attribute_codings: Any) -> Json:
    """An imaging Observation, part of its ImagingStudy; without a study (1.1), an examination Observation."""
    obs: Json = {
        "resourceType": "Observation", "id": f["id"], "status": "final",
        "category": [_cc(t.OBS_IMAGING if study_url else t.OBS_EXAM)],
        "code": _cc(f["code"]), "subject": subject,
    }
    if date:
        obs["effectiveDateTime"] = date
    if study_url:
        obs["partOf"] = [{"reference": study_url}]
    obs["valueCodeableConcept"] = _cc(t.PRESENT if f["status"] == "present" else t.ABSENT)
    if "note" in f:
        obs["note"] = [{"text": f["note"]}]
    if "bodySite" in f:
        obs["bodySite"] = _cc(f["bodySite"])
    components: list[Json] = []
    for key, extra in (("attributes", {}), ("absentAttributes", {"interpretation": [_cc(t.NEGATIVE)]})):  # NEG: stated absent
        for name, values in attribute_values(f.get(key, {})).items():
            for value in values:
                attribute, coded = attribute_codings(name, value)
                components.append({"code": _cc(attribute.as_fhir()), "valueCodeableConcept": _cc(coded.as_fhir()), **extra})
    if "laterality" in f:
        components.append({"code": _cc(_prop("laterality")), "valueCodeableConcept": _cc(_prop(f["laterality"]))})
    if "size" in f:
        components.append({"code": _cc(_prop("size")), "valueQuantity": _qty(f["size"])})
    if "count" in f:
        components.append({"code": _cc(_prop("count")), "valueInteger": f["count"]})
    change = f.get("change")
    if change:
        coding = t.CHANGE_RADLEX.get(change["trend"]) or _prop(change["trend"])
        components.append({"code": _cc(_prop("change")), "valueCodeableConcept": _cc(coding)})
        if "interval" in change:
            components.append({"code": _cc(_prop("change-interval")), "valueQuantity": _qty(change["interval"])})
    if components:
        obs["component"] = components
    return obs


def _condition(h: Mapping[str, Any], subject: Json) -> Json:
    cond: Json = {"resourceType": "Condition", "id": h["id"]}
    if "onsetBeforeStudy" in h:
        d = h["onsetBeforeStudy"]
        cond["extension"] = [{"url": t.EXT_ONSET_BEFORE_STUDY, "valueDuration": _qty(d)}]
    cond |= {"verificationStatus": _cc(t.VER_CONFIRMED if h["status"] == "present" else t.VER_REFUTED),
             "code": _cc(h["code"]), "subject": subject}
    if "onsetDate" in h:
        cond["onsetDateTime"] = h["onsetDate"]
    if "note" in h:
        cond["note"] = [{"text": h["note"]}]
    return cond


def _lab(x: Mapping[str, Any], subject: Json) -> Json:
    obs: Json = {
        "resourceType": "Observation", "id": x["id"], "status": "final",
        "category": [_cc({"system": t.OBS_CATEGORY, "code": "laboratory", "display": "Laboratory"})],
        "code": _cc(x["code"]), "subject": subject,
    }
    if "date" in x:
        obs["effectiveDateTime"] = x["date"]
    if "value" in x:
        obs["valueQuantity"] = _qty(x["value"])
    if "interpretation" in x:
        flag = x["interpretation"]
        obs["interpretation"] = [_cc({"system": t.INTERPRETATION, "code": flag, "display": t.INTERPRETATION_DISPLAY[flag]})]
    if "referenceRange" in x and "value" in x:
        unit = x["value"]["unit"]
        obs["referenceRange"] = [{k: _qty({"value": v, "unit": unit}) for k, v in x["referenceRange"].items()}]
    return obs


def to_fhir_input(doc: Mapping[str, Any], attribute_codings: Any) -> Json:
    """The Bundle for a valid findings document. attribute_codings: Catalog.attribute_codings (name, value -> codings)."""
    patient_doc = doc["patient"]
    patient: Json = {"resourceType": "Patient"}
    subject_id = patient_doc["subject"].split("/", 1)[1] if "subject" in patient_doc else "anonymous"
    if "subject" in patient_doc:
        patient["id"] = subject_id
    if "sex" in patient_doc:
        patient["gender"] = patient_doc["sex"]
    if "birthDate" in patient_doc:
        patient["birthDate"] = patient_doc["birthDate"]
    patient_url = _url("Patient", subject_id)
    subject = {"reference": patient_url}
    entries: list[Json] = [{"fullUrl": patient_url, "resource": patient}]
    studies = {s["id"]: s for s in doc.get("studies", [])}
    dated = doc.get("date") or max((s["date"] for s in studies.values()), default=None)
    if "reportCode" in doc or "date" in doc:  # the report's own date (1.1) is the DiagnosticReport's
        report: Json = {"resourceType": "DiagnosticReport", "id": "report", "status": "final",
                        "code": _cc(*doc["reportCode"]) if "reportCode" in doc else {"text": "Findings"}, "subject": subject}
        if dated:
            report["effectiveDateTime"] = dated
        report["result"] = [{"reference": _url("finding", f["id"])} for f in doc["findings"]]
        entries.append({"fullUrl": _url("DiagnosticReport", "report"), "resource": report})
    for s in studies.values():
        entries.append({"fullUrl": _url("ImagingStudy", s["id"]), "resource": {
            "resourceType": "ImagingStudy", "id": s["id"], "status": "available",
            "modality": [{"system": t.DICOM_DCM, "code": s["modality"]}], "subject": subject, "started": s["date"],
        }})
    if "age" in patient_doc:
        entries.append({"fullUrl": _url("age", "age"), "resource": {
            "resourceType": "Observation", "id": "age", "status": "final", "code": _cc(t.LOINC_AGE), "subject": subject,
            **({"effectiveDateTime": dated} if dated else {}), "valueQuantity": _qty(patient_doc["age"]),
        }})
    for f in doc["findings"]:
        study = studies.get(f.get("study", ""))
        url, date = (_url("ImagingStudy", study["id"]), study["date"]) if study else (None, dated)
        entries.append({"fullUrl": _url("finding", f["id"]), "resource": _finding(f, subject, url, date, attribute_codings)})
    for h in doc.get("history", []):
        entries.append({"fullUrl": _url("Condition", h["id"]), "resource": _condition(h, subject)})
    for x in doc.get("labs", []):
        entries.append({"fullUrl": _url("lab", x["id"]), "resource": _lab(x, subject)})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
