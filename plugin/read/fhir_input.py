"""The FHIR input form: a `collection` Bundle of imaging Observations (plus optional Patient, Conditions, lab Observations,
ImagingStudy and DiagnosticReport) -> the findings document it stands for -> the same Report as the findings JSON.

Which element carries what is mappings/fhir/fhir-input-profile.md. What cannot be mapped becomes a warning (it reaches
the output's OperationOutcome); a Bundle from which no imaging finding can be read is refused (422) naming why.
Paths in every issue are FHIR paths into the Bundle (Bundle.entry[3].resource.code), never the values themselves.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from plugin import terms as t
from plugin.errors import Issue, IssueType, Severity
from plugin.knowledge.catalog import Catalog
from plugin.model import Report
from plugin.read import check as findings_check
from plugin.read.normalize import normalize

Json = dict[str, Any]
MODALITIES = {"CR", "DX", "CT", "MR", "US", "NM", "PT", "XA", "RF", "MG", "OT"}
AGE_UNITS, DURATION_UNITS, SIZE_UNITS = {"d", "wk", "mo", "a"}, {"min", "h", "d", "wk", "mo", "a"}, {"mm", "cm"}
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
VALUE_OF = {(t.RADLEX, t.PRESENT["code"]): "present", (t.RADLEX, t.ABSENT["code"]): "absent"}
CHANGE_OF = {(c["system"], c["code"]): trend for trend, c in t.CHANGE_RADLEX.items()}


def _list(x: Any) -> list[Any]:
    """A FHIR array, or nothing when the element is not an array (the mapped document's checks then say what is missing)."""
    return x if isinstance(x, list) else []


def _warn(message: str, path: str) -> Issue:
    return Issue(Severity.WARNING, IssueType.NOT_SUPPORTED, message, path)


def _system(s: Any) -> Any:
    return t.RADLEX if s == t.RADLEX_OLD else s


def _codings(cc: Any) -> list[Json]:
    if not isinstance(cc, Mapping):
        return []
    text = cc.get("text")
    out = []
    for c in cc.get("coding", []) if isinstance(cc.get("coding"), list) else []:
        if isinstance(c, Mapping) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str):
            out.append({"system": _system(c["system"]), "code": c["code"], "display": c.get("display") or text or c["code"]})
    return out


def _pick(cc: Any, catalog: Catalog, kinds: tuple[str, ...]) -> Json | None:
    """The first coding a loaded pack knows as one of `kinds`, else the first coding at all."""
    codings = _codings(cc)
    known = [c for c in codings if (hit := catalog.codes.get((c["system"], c["code"]))) and hit[1] in kinds]
    return (known or codings)[0] if codings else None


def _category(resource: Mapping[str, Any]) -> set[str]:
    return {c["code"] for cat in _list(resource.get("category")) for c in _codings(cat) if c["system"] == t.OBS_CATEGORY}


def _qty(q: Any, units: set[str] | None = None) -> Json | None:
    if not isinstance(q, Mapping) or not isinstance(q.get("value"), int | float) or isinstance(q.get("value"), bool):
        return None
    unit = q.get("code") or q.get("unit")
    if not isinstance(unit, str) or (units is not None and unit not in units):
        return None
    return {"value": q["value"], "unit": unit}


class _Mapper:
    def __init__(self, bundle: Mapping[str, Any], catalog: Catalog) -> None:
        self.catalog = catalog
        self.issues: list[Issue] = []
        self.entries: list[tuple[str, Json]] = []
        self.by_url: dict[str, Json] = {}
        for i, e in enumerate(_list(bundle.get("entry"))):
            resource = e.get("resource") if isinstance(e, Mapping) else None
            if not isinstance(resource, Mapping):
                self.issues.append(_warn("Entry without a resource: not mapped.", f"Bundle.entry[{i}]"))
                continue
            self.entries.append((f"Bundle.entry[{i}].resource", dict(resource)))
            if isinstance(e.get("fullUrl"), str):
                self.by_url[e["fullUrl"]] = dict(resource)
            if isinstance(resource.get("id"), str):
                self.by_url[f"{resource.get('resourceType')}/{resource['id']}"] = dict(resource)
        self.doc: Json = {"patient": {}, "studies": [], "findings": []}
        self.paths: dict[str, str] = {}  # findings-document path -> Bundle path
        self.studies: dict[str, Json] = {}
        self.exam_dates: list[str] = []

    def is_list(self, attribute: str) -> bool:
        """Whether the loaded packs' findings schema takes this attribute as a list (else one value)."""
        props = self.catalog.findings_schema.get("$defs", {}).get("attributes", {}).get("properties", {})
        return bool(props.get(attribute, {}).get("type") == "array")

    def resolve(self, ref: Any) -> Json | None:
        return self.by_url.get(ref.get("reference", "")) if isinstance(ref, Mapping) else None

    def run(self) -> Json:
        handlers = {"Patient": self.patient, "Condition": self.condition, "ImagingStudy": self.imaging_study,
                    "DiagnosticReport": self.report, "Observation": self.observation}
        for path, resource in self.entries:
            handler = handlers.get(str(resource.get("resourceType")))
            if handler is None:
                self.issues.append(_warn("This resource type is not part of the FHIR input profile: not mapped.", path))
            else:
                handler(resource, path)
        self.doc["studies"] = list(self.studies.values())
        if not self.studies and "date" not in self.doc and self.exam_dates:  # clinical-only, dated by its examinations
            self.doc["date"] = max(self.exam_dates)
        for key in ("history", "labs", "studies"):
            if key in self.doc and not self.doc[key]:
                del self.doc[key]
        return self.doc

    def patient(self, r: Json, path: str) -> None:
        p = self.doc["patient"]
        if isinstance(r.get("id"), str) and FHIR_ID.match(r["id"]):
            p["subject"] = f"Patient/{r['id']}"
        if r.get("gender") in ("female", "male", "other", "unknown"):
            p["sex"] = r["gender"]
        if isinstance(r.get("birthDate"), str):
            p["birthDate"] = r["birthDate"]
        self.paths["patient"] = path

    def report(self, r: Json, path: str) -> None:
        codes = _codings(r.get("code"))
        if codes:
            self.doc["reportCode"] = codes
        if isinstance(r.get("effectiveDateTime"), str):  # the document's date (findings schema 1.1)
            self.doc["date"] = r["effectiveDateTime"][:10]

    def imaging_study(self, r: Json, path: str) -> None:
        """Every ImagingStudy is a study of the report, referenced by an Observation or not: the latest one dates it."""
        if isinstance(r.get("id"), str) and isinstance(r.get("started"), str):
            modality = next((c["code"] for c in _list(r.get("modality")) if isinstance(c, Mapping)
                             and c.get("system") == t.DICOM_DCM and c.get("code") in MODALITIES), "OT")
            self.studies.setdefault(r["id"], {"id": r["id"], "modality": modality, "date": r["started"][:10]})

    def study_of(self, r: Json, path: str) -> str | None:
        """The study id of an imaging Observation: its partOf ImagingStudy, else one study per effective date."""
        date = r.get("effectiveDateTime")
        for ref in _list(r.get("partOf")):
            study = self.resolve(ref)
            if study and study.get("resourceType") == "ImagingStudy" and isinstance(study.get("id"), str):
                modality = next((c["code"] for c in _list(study.get("modality")) if isinstance(c, Mapping)
                                 and c.get("system") == t.DICOM_DCM and c.get("code") in MODALITIES), "OT")
                started = study.get("started") if isinstance(study.get("started"), str) else date
                if isinstance(started, str):
                    self.studies.setdefault(study["id"], {"id": study["id"], "modality": modality, "date": started[:10]})
                    return str(study["id"])
        if isinstance(date, str):
            ident = f"study-{date[:10]}"
            self.studies.setdefault(ident, {"id": ident, "modality": "OT", "date": date[:10]})
            return ident
        self.issues.append(_warn("Imaging Observation without a date or an ImagingStudy: not mapped.", path))
        return None

    def observation(self, r: Json, path: str) -> None:
        codings = _codings(r.get("code"))
        categories = _category(r)
        if any(c["system"] == t.LOINC_AGE["system"] and c["code"] == t.LOINC_AGE["code"] for c in codings):
            age = _qty(r.get("valueQuantity"), AGE_UNITS)
            if age is None:
                self.issues.append(_warn("Age without a UCUM quantity in d, wk, mo or a: not mapped.", f"{path}.valueQuantity"))
            else:
                self.doc["patient"]["age"] = age
            return
        kind = "lab" if "laboratory" in categories else "finding" if categories & {"imaging", "exam"} else None
        if kind is None:
            hit = next((self.catalog.codes.get((c["system"], c["code"])) for c in codings
                        if (c["system"], c["code"]) in self.catalog.codes), None)
            kind = "lab" if hit and hit[1] == "lab" else "finding" if hit and hit[1] == "concept" else None
        if kind is None:
            self.issues.append(_warn("Observation neither imaging nor laboratory, with no code a pack knows: not mapped.", path))
        elif kind == "lab":
            self.lab(r, path)
        else:
            self.finding(r, path)

    def finding(self, r: Json, path: str) -> None:
        code = _pick(r.get("code"), self.catalog, ("concept",))
        if code is None:
            self.issues.append(_warn("Imaging Observation without a coding: not mapped.", f"{path}.code"))
            return
        status = next((VALUE_OF[(c["system"], c["code"])] for c in _codings(r.get("valueCodeableConcept"))
                       if (c["system"], c["code"]) in VALUE_OF), None)
        if status is None and isinstance(r.get("valueBoolean"), bool):
            status = "present" if r["valueBoolean"] else "absent"
        if status is None:
            self.issues.append(_warn("Imaging Observation without present/absent as its value (RadLex RID28472/RID28473 or "
                                     "a boolean): not mapped.", f"{path}.value[x]"))
            return
        on_exam = "exam" in _category(r) and not _list(r.get("partOf"))  # 1.1: found on clinical examination
        study = None if on_exam else self.study_of(r, path)
        if on_exam and isinstance(r.get("effectiveDateTime"), str):
            self.exam_dates.append(r["effectiveDateTime"][:10])
        if study is None and not on_exam:
            return
        index = len(self.doc["findings"])
        f: Json = {"id": r.get("id") or f"finding-{index + 1}", **({"study": study} if study else {}),
                   "code": code, "status": status}
        if (site := _pick(r.get("bodySite"), self.catalog, ("site",))) is not None:
            f["bodySite"] = site
        attributes: dict[str, list[str]] = {}
        absent: dict[str, list[str]] = {}
        change: Json = {}
        for j, comp in enumerate(_list(r.get("component"))):
            here = f"{path}.component[{j}]"
            if not isinstance(comp, Mapping):
                self.issues.append(_warn("Component not in the FHIR input profile: not mapped.", here))
                continue
            name = next(iter(_codings(comp.get("code"))), None)
            value = next(iter(_codings(comp.get("valueCodeableConcept"))), None)
            prop = name["code"] if name and name["system"] == t.FINDING_PROPERTY else None
            if name and any(p.system("attribute") == name["system"] for p in self.catalog.packs) and value:
                negative = any(c["system"] == t.INTERPRETATION and c["code"] == "NEG"
                               for i in _list(comp.get("interpretation")) for c in _codings(i))
                (absent if negative else attributes).setdefault(name["code"], []).append(value["code"])
            elif prop == "laterality" and value and value["code"] in ("left", "right", "bilateral", "midline"):
                f["laterality"] = value["code"]
            elif prop == "size" and (q := _qty(comp.get("valueQuantity"), SIZE_UNITS)):
                f["size"] = q
            elif prop == "count" and isinstance(comp.get("valueInteger"), int):
                f["count"] = comp["valueInteger"]
            elif prop == "change" and value and (trend := CHANGE_OF.get((value["system"], value["code"]))
                                                  or (value["code"] if value["system"] == t.FINDING_PROPERTY else None)):
                change["trend"] = trend
            elif prop == "change-interval" and (q := _qty(comp.get("valueQuantity"), DURATION_UNITS)):
                change["interval"] = q
            else:
                self.issues.append(_warn("Component not in the FHIR input profile: not mapped.", here))
        for key, stated in (("attributes", attributes), ("absentAttributes", absent)):
            if stated:
                f[key] = {k: v if self.is_list(k) else v[0] if len(v) == 1 else v for k, v in stated.items()}
        if change:
            f["change"] = change
        notes = [str(n["text"]) for n in _list(r.get("note")) if isinstance(n, Mapping) and isinstance(n.get("text"), str)]
        if notes:
            f["note"] = " ".join(notes)
        self.paths[f"findings[{index}]"] = path
        self.doc["findings"].append(f)

    def condition(self, r: Json, path: str) -> None:
        codes = _codings(r.get("verificationStatus"))
        ver = next((c["code"] for c in codes if c["system"] == t.CONDITION_VER_STATUS), None)
        if ver not in (None, "confirmed", "refuted"):
            self.issues.append(_warn("Only confirmed or refuted Conditions are history: not mapped.", f"{path}.verificationStatus"))
            return
        code = _pick(r.get("code"), self.catalog, ("concept",))
        if code is None:
            self.issues.append(_warn("Condition without a coding: not mapped.", f"{path}.code"))
            return
        history = self.doc.setdefault("history", [])
        h: Json = {"id": r.get("id") or f"history-{len(history) + 1}", "code": code,
                   "status": "absent" if ver == "refuted" else "present"}
        for ext in _list(r.get("extension")):
            if isinstance(ext, Mapping) and ext.get("url") == t.EXT_ONSET_BEFORE_STUDY:
                if (q := _qty(ext.get("valueDuration"), DURATION_UNITS)) is not None:
                    h["onsetBeforeStudy"] = q
        if isinstance(r.get("onsetDateTime"), str):
            h["onsetDate"] = r["onsetDateTime"][:10]
        elif any(k.startswith("onset") for k in r):
            self.issues.append(_warn("Only onsetDateTime (or the onset-before-study extension) is read: onset not mapped.", path))
        notes = [str(n["text"]) for n in _list(r.get("note")) if isinstance(n, Mapping) and isinstance(n.get("text"), str)]
        if notes:
            h["note"] = " ".join(notes)
        self.paths[f"history[{len(history)}]"] = path
        history.append(h)

    def lab(self, r: Json, path: str) -> None:
        code = _pick(r.get("code"), self.catalog, ("lab",))
        if code is None:
            self.issues.append(_warn("Laboratory Observation without a coding: not mapped.", f"{path}.code"))
            return
        labs = self.doc.setdefault("labs", [])
        x: Json = {"id": r.get("id") or f"lab-{len(labs) + 1}", "code": code}
        if (q := _qty(r.get("valueQuantity"))) is not None:
            x["value"] = q
            given: Any = next(iter(_list(r.get("referenceRange"))), {})
            first: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
            rng = {k: first[k]["value"] for k in ("low", "high") if isinstance(first.get(k), Mapping)
                   and isinstance(first[k].get("value"), int | float) and not isinstance(first[k].get("value"), bool)}
            if rng:
                x["referenceRange"] = rng
        flag = next((c["code"] for i in _list(r.get("interpretation")) for c in _codings(i)
                     if c["system"] == t.INTERPRETATION and c["code"] in t.INTERPRETATION_DISPLAY), None)
        if flag:
            x["interpretation"] = flag
        if isinstance(r.get("effectiveDateTime"), str):
            x["date"] = r["effectiveDateTime"][:10]
        self.paths[f"labs[{len(labs)}]"] = path
        labs.append(x)


def _translate(issue: Issue, paths: Mapping[str, str]) -> Issue:
    """An issue of the mapped findings document, placed on the Bundle element it came from."""
    if issue.path:
        for prefix, bundle_path in sorted(paths.items(), key=lambda kv: -len(kv[0])):
            if issue.path == prefix or issue.path.startswith((prefix + ".", prefix + "[")):
                rest = issue.path[len(prefix):]
                same = rest in ("", ".code", ".bodySite", ".note")  # the elements that keep their name in the profile
                return dataclasses.replace(issue, path=bundle_path + rest if same else f"{bundle_path} ({issue.path})")
    return issue


def map_bundle(bundle: Any, catalog: Catalog) -> tuple[Json, list[Issue], dict[str, str]]:
    """(the findings document, every mapping issue, findings-document path -> Bundle path); errors when nothing can be read."""
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle" or bundle.get("type") != "collection":
        return {}, [Issue(Severity.ERROR, IssueType.STRUCTURE, "FHIR input must be a Bundle of type collection.", "Bundle")], {}
    mapper = _Mapper(bundle, catalog)
    doc = mapper.run()
    if not doc["findings"]:
        mapper.issues.append(Issue(Severity.ERROR, IssueType.REQUIRED, "The Bundle maps to no imaging finding: it needs at least "
                                   "one imaging Observation with a finding code and present/absent as its value.", "Bundle.entry"))
    return doc, mapper.issues, mapper.paths


def check(bundle: Any, catalog: Catalog) -> list[Issue]:
    """Every problem: the mapping's errors, else the mapped document's (placed on the Bundle's elements)."""
    doc, issues, paths = map_bundle(bundle, catalog)
    errors = [i for i in issues if i.severity in (Severity.ERROR, Severity.FATAL)]
    if errors:
        return errors
    return [_translate(i, paths) for i in findings_check.check(doc, catalog)]


def to_report(bundle: Any, catalog: Catalog) -> Report:
    """The Report of a Bundle check() accepted; the mapping's warnings come first among its warnings."""
    doc, issues, paths = map_bundle(bundle, catalog)
    report = normalize(doc, catalog)
    return dataclasses.replace(report, warnings=(*issues, *(_translate(w, paths) for w in report.warnings)))
