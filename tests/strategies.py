"""Hypothesis strategies for findings documents, drawn from a loaded catalog's own vocabulary.

    findings_documents(catalog)   realistic documents the schema and the cross-field rules accept
    invalid_documents(catalog)    mutations of those that `plugin.read.check.check` must reject
    unreadable_bodies(catalog)    request bodies that are not strict JSON (the API answers 400)

Plain functions of a Catalog, no pytest fixtures inside: benchmarks and ad-hoc scripts can use them too,
e.g. `findings_documents(load_knowledge()).example()`.

Everything is derived from the packs (concept, body-site and lab codings exactly as GET /knowledge lists
them, attribute names and values with their cardinality, the scope predicate's concepts), so a new or
edited pack is exercised without touching this file. Most drawn documents are in scope of some pack
(a finding its scope predicate names, stated present), so the real rules run.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from hypothesis import note
from hypothesis import strategies as st

from plugin import units
from plugin.knowledge.catalog import Catalog
from plugin.knowledge.model import Pack

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
Doc = dict[str, Any]
Draw = Callable[[st.SearchStrategy[Any]], Any]

MODALITIES = ["CR", "DX", "CT", "MR", "US", "NM", "PT", "XA", "RF", "MG", "OT"]
TRENDS = ["new", "increased", "stable", "decreased", "resolved", "matured"]
REPORT_CODES = [
    {"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"},
    {"system": LOINC, "code": "18782-3", "display": "Radiology Study observation (narrative)"},
]
NOTES = [
    "Compared with the prior radiograph.",
    "Slow, progressive enhancement in the venous phase.",
    "Parents report the swelling appeared after a fall.",
    "Limited study: patient motion.",
    "See also the ultrasound of the same day.",
    "Well-defined margins; no periosteal reaction.",
]

# Plausible values and adult/paediatric reference ranges, by (lab id, pack unit). A lab not listed
# gets a generic range, so new packs still work; these only make the drawn numbers look like reports.
PLAUSIBLE: dict[tuple[str, str], tuple[float, float, float, float]] = {  # (min, max, ref low, ref high)
    ("calcium", "mg/dL"): (5.0, 16.0, 8.8, 10.8),
    ("calcium-ionized", "mmol/L"): (0.7, 1.9, 1.12, 1.32),
    ("phosphate", "mg/dL"): (1.5, 12.0, 4.0, 7.0),
    ("alkaline-phosphatase", "U/L"): (40.0, 2000.0, 100.0, 390.0),
    ("creatine-kinase", "U/L"): (20.0, 30000.0, 25.0, 200.0),
    ("creatinine", "mg/dL"): (0.1, 12.0, 0.3, 0.9),
    ("parathyroid-hormone", "pg/mL"): (3.0, 2500.0, 15.0, 65.0),
    ("vitamin-d-25oh", "nmol/L"): (10.0, 700.0, 50.0, 125.0),
    ("c-reactive-protein", "mg/L"): (0.1, 250.0, 0.0, 5.0),
    ("alanine-aminotransferase", "U/L"): (5.0, 800.0, 7.0, 40.0),
    ("aspartate-aminotransferase", "U/L"): (8.0, 800.0, 10.0, 40.0),
    ("d-dimer", "mg/L"): (0.05, 20.0, 0.0, 0.5),
    ("fgf23", "ng/L"): (10.0, 3000.0, 20.0, 100.0),
}
GENERIC_RANGE = (0.5, 500.0, 10.0, 100.0)


def sig(x: float, digits: int = 4) -> float:
    """A value as a report would print it: a few significant digits (ints stay ints)."""
    return float(f"{x:.{digits}g}")


@dataclass(frozen=True)
class _Lab:
    coding: dict[str, str]
    unit: str
    molar_mass: float | None
    maximum: float | None  # the pack's plausible_max, in `unit`: above it validation refuses the value
    alternatives: tuple[tuple[str, float], ...]  # (unit, factor from that unit into the pack unit)
    plausible: tuple[float, float, float, float]


@dataclass(frozen=True)
class PackView:
    """What one pack lets a document say, precomputed once per catalog."""

    pack: Pack
    findings: tuple[dict[str, str], ...]  # codings of concepts of kind finding/any
    history: tuple[dict[str, str], ...]  # codings of concepts of kind history/any
    scope: tuple[dict[str, str], ...]  # codings of the findings the scope predicate names
    sites: tuple[dict[str, str], ...]
    attributes: tuple[tuple[str, bool, tuple[str, ...]], ...]  # (name, many?, values)
    labs: tuple[_Lab, ...]


def _codings(own_system: str, item: Mapping[str, Any]) -> list[dict[str, str]]:
    """The pack's own coding of an item plus every standard coding it lists: what GET /knowledge shows."""
    return [{"system": own_system, "code": item["id"], "display": item["display"]}] + [
        {"system": c["system"], "code": c["code"], "display": c["display"]} for c in item.get("codings", [])
    ]


def scope_concepts(node: Any, negated: bool = False) -> set[str]:
    """Concepts a scope predicate asks to be present as findings (outside any `not`)."""
    found: set[str] = set()
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "finding" and isinstance(value, Mapping) and not negated and value.get("status", "present") == "present":
                concept = value["concept"]
                found |= {concept} if isinstance(concept, str) else set(concept)
            else:
                found |= scope_concepts(value, negated or key == "not")
    elif isinstance(node, list):
        for value in node:
            found |= scope_concepts(value, negated)
    return found


def _alternatives(unit: str, molar_mass: float | None, hi: float) -> tuple[tuple[str, float], ...]:
    out = []
    for alt in sorted(units.KNOWN_UNITS):
        factor = units.converter(alt, unit, molar_mass)
        # keep units a lab would really print this value in: not absurdly large or small numbers
        if alt != unit and factor is not None and 0.1 <= hi / factor <= 1e4:
            out.append((alt, factor))
    return tuple(out)


def pack_view(pack: Pack, catalog: Catalog) -> PackView:
    voc = pack.raw["vocabulary"]
    concept_system = pack.system("concept")
    concepts = voc["concepts"]
    scoped = scope_concepts(pack.raw["manifest"]["scope"]["when"])
    schema_attrs = catalog.findings_schema["$defs"]["attributes"]["properties"]
    labs = []
    for lab in voc["labs"]:
        maximum = lab.get("plausible_max")
        plausible = PLAUSIBLE.get((lab["id"], lab["unit"]), GENERIC_RANGE)
        if maximum is not None:  # keep drawn values (and reference limits) below what the pack calls possible
            plausible = tuple(min(x, maximum * 0.9) for x in plausible)  # type: ignore[assignment]
        alternatives = _alternatives(lab["unit"], lab.get("molar_mass"), plausible[1])
        for coding in _codings(concept_system, lab):
            labs.append(_Lab(coding, lab["unit"], lab.get("molar_mass"), maximum, alternatives, plausible))
    return PackView(
        pack=pack,
        findings=tuple(c for x in concepts if x["kind"] in ("finding", "any") for c in _codings(concept_system, x)),
        history=tuple(c for x in concepts if x["kind"] in ("history", "any") for c in _codings(concept_system, x)),
        scope=tuple(c for x in concepts if x["id"] in scoped for c in _codings(concept_system, x)),
        sites=tuple(c for x in voc["body_sites"] for c in _codings(pack.system("body-site"), x)),
        # cardinality as the catalog's (merged) schema states it: that is what validation enforces
        attributes=tuple((a["id"], "enum" not in schema_attrs[a["id"]], tuple(v["id"] for v in a["values"]))
                         for a in voc["attributes"]),
        labs=tuple(labs),
    )


_VIEWS: dict[int, tuple[Catalog, tuple[PackView, ...]]] = {}


def views(catalog: Catalog) -> tuple[PackView, ...]:
    hit = _VIEWS.get(id(catalog))
    if hit is None or hit[0] is not catalog:
        hit = (catalog, tuple(pack_view(p, catalog) for p in catalog.packs))
        _VIEWS[id(catalog)] = hit
    return hit[1]


def known_codes(catalog: Catalog) -> frozenset[tuple[str, str]]:
    return frozenset(catalog.codes)


# --- small pieces -------------------------------------------------------------------------------------

# Strategies are built once and reused: building one (a regex above all) costs more than drawing from it.
_ODD_ID = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}\Z")
_SUBJECT = st.one_of(st.just("p1"), st.from_regex(r"\A[A-Za-z0-9\-.]{1,64}\Z"))
_TEXT = st.one_of(st.sampled_from(NOTES), st.sampled_from(NOTES),
                  st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=60))


@cache
def ids(prefix: str, n: int) -> st.SearchStrategy[list[str]]:
    """n distinct local ids: mostly 'f1', 'f2'..., sometimes arbitrary ones the id pattern allows."""
    simple = st.just([f"{prefix}{i + 1}" for i in range(n)])
    return st.one_of(simple, simple, simple, _ODD_ID.map(lambda base: [f"{base}.{i + 1}" for i in range(n)]))


def text() -> st.SearchStrategy[str]:
    """A free-text note: a realistic sentence, or printable text the schema's text pattern admits."""
    return _TEXT


_UNKNOWN: dict[int, tuple[Catalog, st.SearchStrategy[dict[str, str]]]] = {}


def unknown_snomed(catalog: Catalog) -> st.SearchStrategy[dict[str, str]]:
    """A well-formed SNOMED CT coding no loaded pack knows: normalised with a warning, never evaluated."""
    hit = _UNKNOWN.get(id(catalog))
    if hit is None or hit[0] is not catalog:
        known = known_codes(catalog)
        code = st.integers(100_000, 999_999_999).map(str).filter(lambda c: (SNOMED, c) not in known)
        hit = catalog, st.builds(lambda c, d: {"system": SNOMED, "code": c, "display": d}, code,
                                 st.sampled_from(["Finding of unknown significance", "Swelling of limb", "Pain in limb"]))
        _UNKNOWN[id(catalog)] = hit
    return hit[1]


@cache
def duration(units_: tuple[str, ...], hi: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda v, u: {"value": v, "unit": u}, st.integers(0, hi), st.sampled_from(units_))


def coding_from(choices: tuple[dict[str, str], ...]) -> st.SearchStrategy[dict[str, str]]:
    return st.sampled_from(choices).map(dict)


# --- the document -------------------------------------------------------------------------------------

@st.composite
def patient(draw: Draw, earliest: date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.integers(0, 4)):
        out["subject"] = "Patient/" + draw(_SUBJECT)
    how = draw(st.sampled_from(["age", "age", "age", "birthDate", "none"]))
    if how == "age":  # 0 to 30 years, in the unit a report would use
        unit = draw(st.sampled_from(["d", "wk", "mo", "a", "a", "a"]))
        top = {"d": 60, "wk": 52, "mo": 36, "a": 30}[unit]
        value: float = draw(st.integers(0, top))
        if unit == "a" and draw(st.booleans()):
            value = round(value + draw(st.integers(0, 9)) / 10, 1) if value < top else value
        out["age"] = {"value": value, "unit": unit}
    elif how == "birthDate":
        out["birthDate"] = (earliest - timedelta(days=draw(st.integers(0, int(30 * 365.25))))).isoformat()
    if draw(st.integers(0, 5)):
        out["sex"] = draw(st.sampled_from(["female", "male", "male", "female", "other", "unknown"]))
    return out


@st.composite
def finding(draw: Draw, catalog: Catalog, ident: str, study: str, scoped: bool) -> dict[str, Any]:
    packs = views(catalog)
    view = draw(st.sampled_from(packs))
    if scoped and view.scope:
        code, status = draw(coding_from(view.scope)), "present"
    elif not draw(st.integers(0, 19)):
        code, status = draw(unknown_snomed(catalog)), draw(st.sampled_from(["present", "absent"]))
    else:
        code, status = draw(coding_from(view.findings)), draw(st.sampled_from(["present", "present", "absent"]))
    out: dict[str, Any] = {"id": ident, "study": study, "code": code, "status": status}
    if draw(st.integers(0, 3)):
        out["bodySite"] = draw(coding_from(view.sites))
    if draw(st.booleans()):
        out["laterality"] = draw(st.sampled_from(["left", "right", "bilateral", "midline"]))
    if status == "present":
        attrs: dict[str, Any] = {}
        for name, many, values in view.attributes:
            if draw(st.integers(0, 2)):
                continue
            if many:
                attrs[name] = draw(st.lists(st.sampled_from(values), min_size=1, max_size=min(3, len(values)), unique=True))
            else:
                attrs[name] = draw(st.sampled_from(values))
        if attrs:
            out["attributes"] = attrs
        if draw(st.booleans()):
            unit = draw(st.sampled_from(["mm", "cm"]))
            tenths = draw(st.integers(1, 3000 if unit == "mm" else 400))
            out["size"] = {"value": tenths / 10 if tenths % 10 else tenths // 10, "unit": unit}
        if draw(st.integers(0, 2)) == 0:
            count = draw(st.integers(1, 60))
            out["count"] = float(count) if draw(st.integers(0, 3)) == 0 else count  # JSON Schema's integer admits 3.0
        if draw(st.integers(0, 3)) == 0:
            out["change"] = {"trend": draw(st.sampled_from(TRENDS))}
            if draw(st.booleans()):
                out["change"]["interval"] = draw(duration(("d", "wk", "mo", "a"), 24))
    if draw(st.integers(0, 5)) == 0:
        out["note"] = draw(text())
    return out


@st.composite
def history_item(draw: Draw, catalog: Catalog, ident: str, latest: date) -> dict[str, Any]:
    view = draw(st.sampled_from(views(catalog)))
    unknown = not draw(st.integers(0, 19)) or not view.history
    code = draw(unknown_snomed(catalog)) if unknown else draw(coding_from(view.history))
    out: dict[str, Any] = {"id": ident, "code": code, "status": draw(st.sampled_from(["present", "present", "absent"]))}
    timing = draw(st.sampled_from(["none", "none", "before", "date"]))
    if out["status"] == "present" and timing == "before":
        out["onsetBeforeStudy"] = draw(duration(("h", "d", "wk", "mo", "a"), 36))
    elif out["status"] == "present" and timing == "date":
        out["onsetDate"] = (latest - timedelta(days=draw(st.integers(0, 3650)))).isoformat()
    if draw(st.integers(0, 7)) == 0:
        out["note"] = draw(text())
    return out


@st.composite
def lab_result(draw: Draw, catalog: Catalog, ident: str, latest: date) -> dict[str, Any]:
    candidates = [lab for v in views(catalog) for lab in v.labs]
    if not candidates or not draw(st.integers(0, 14)):  # a lab no pack knows: kept, reported, not evaluated
        code = {"system": LOINC, "code": "2345-7", "display": "Glucose [Mass/volume] in Serum or Plasma"}
        if (LOINC, "2345-7") in catalog.codes:
            code = draw(unknown_snomed(catalog))
        lab = _Lab(code, "mg/dL", None, None, (), GENERIC_RANGE)
    else:
        lab = draw(st.sampled_from(candidates))
    out: dict[str, Any] = {"id": ident, "code": dict(lab.coding)}
    lo, hi, ref_lo, ref_hi = lab.plausible
    form = draw(st.sampled_from(["value+range", "value+range", "value", "flag"]))
    if form == "flag":
        out["interpretation"] = draw(st.sampled_from(["H", "HH", "L", "LL", "N", "A"]))
    else:
        value = lo + (hi - lo) * draw(st.integers(0, 1000)) / 1000
        unit, factor = lab.unit, 1.0
        if lab.alternatives and draw(st.integers(0, 3)) == 0:  # the same quantity in another unit that converts
            unit, factor = draw(st.sampled_from(lab.alternatives))
        out["value"] = {"value": sig(value / factor, 3), "unit": unit}
        if form == "value+range":
            rng = draw(st.sampled_from([("low", "high"), ("low", "high"), ("high",), ("low",)]))
            out["referenceRange"] = {k: sig((ref_lo if k == "low" else ref_hi) / factor, 3) for k in rng}
            if draw(st.booleans()):
                shown, r = out["value"]["value"], out["referenceRange"]
                out["interpretation"] = "H" if shown > r.get("high", float("inf")) else "L" if shown < r.get("low", -1) else "N"
    if draw(st.booleans()):
        out["date"] = (latest - timedelta(days=draw(st.integers(0, 30)))).isoformat()
    return out


@st.composite
def findings_documents(draw: Draw, catalog: Catalog) -> Doc:
    """A realistic document every loaded check accepts, mostly in scope of a pack."""
    n_studies = draw(st.integers(1, 3))
    study_ids = draw(ids("s", n_studies))
    first = draw(st.dates(date(2000, 1, 1), date(2030, 12, 31)))
    dates = sorted(first + timedelta(days=draw(st.integers(0, 400))) for _ in range(n_studies))
    studies = [{"id": i, "modality": draw(st.sampled_from(MODALITIES)), "date": d.isoformat()} for i, d in zip(study_ids, dates, strict=True)]
    latest = dates[-1]
    doc: Doc = {}
    if draw(st.booleans()):
        doc["schemaVersion"] = draw(st.sampled_from(["1.0.0", "1.0.0", "1.2.3"]))
    if draw(st.integers(0, 2)) == 0:
        doc["reportCode"] = [draw(st.sampled_from(REPORT_CODES))]
    doc["patient"] = draw(patient(dates[0]))
    doc["studies"] = studies
    in_scope = draw(st.integers(0, 9)) > 0  # ~90 % carry a scope finding, so the real rules run
    n_findings = draw(st.integers(1, 6))
    finding_ids = draw(ids("f", n_findings))
    doc["findings"] = [draw(finding(catalog, fid, draw(st.sampled_from(study_ids)), in_scope and k == 0))
                       for k, fid in enumerate(finding_ids)]
    n_history = draw(st.integers(0, 4))
    if n_history or draw(st.integers(0, 5)) == 0:
        doc["history"] = [draw(history_item(catalog, hid, latest)) for hid in draw(ids("h", n_history))]
    n_labs = draw(st.integers(0, 3))
    if n_labs:
        doc["labs"] = [draw(lab_result(catalog, lid, latest)) for lid in draw(ids("l", n_labs))]
    return doc


# --- invalid documents ----------------------------------------------------------------------------------

Mutation = Callable[[Draw, Doc, Catalog], bool]  # mutates in place; False when not applicable to this doc


def _pick(draw: Draw, items: list[Any]) -> Any:
    return items[draw(st.integers(0, len(items) - 1))]


def _objects(doc: Doc) -> list[dict[str, Any]]:
    """Every closed object of the document (additionalProperties: false everywhere)."""
    out: list[dict[str, Any]] = [doc, doc["patient"]]
    if "age" in doc["patient"]:
        out.append(doc["patient"]["age"])
    out += doc["studies"]
    for item in doc["findings"] + doc.get("history", []) + doc.get("labs", []):
        out += [item, item["code"]] + [item[k] for k in ("bodySite", "size", "change", "value", "referenceRange") if k in item]
    return out


def drop_required(draw: Draw, doc: Doc, catalog: Catalog) -> bool:
    places: list[tuple[dict[str, Any], str]] = [(doc, k) for k in ("patient", "studies", "findings")]
    places += [(s, k) for s in doc["studies"] for k in ("id", "modality", "date")]
    # a finding's study is optional since 1.1 (found on examination); without `studies`, its reference dangles
    places += [(f, k) for f in doc["findings"] for k in ("id", "code", "status")]
    places += [(f["code"], k) for f in doc["findings"] for k in ("system", "code", "display")]
    places += [(h, k) for h in doc.get("history", []) for k in ("id", "code", "status")]
    places += [(x, k) for x in doc.get("labs", []) for k in ("id", "code")]
    places += [(x["value"], k) for x in doc.get("labs", []) if "value" in x for k in ("value", "unit")]
    if "age" in doc["patient"]:
        places += [(doc["patient"]["age"], k) for k in ("value", "unit")]
    obj, key = _pick(draw, places)
    del obj[key]
    return True


def unknown_property(draw: Draw, doc: Doc, catalog: Catalog) -> bool:
    obj = _pick(draw, _objects(doc))
    name = draw(st.sampled_from(["extra", "comment", "x-vendor", "Status", "findings2", "_id"]))
    if name in obj:
        return False
    obj[name] = draw(st.sampled_from(["x", 1, None, [], {}]))
    return True


def unknown_attribute(draw: Draw, doc: Doc, catalog: Catalog) -> bool:
    allowed = catalog.findings_schema["$defs"]["attributes"]["properties"]
    name = draw(st.sampled_from(["colour", "texture", "zz-unknown", "mineral2"]))
    if name in allowed:
        return False
    _pick(draw, doc["findings"]).setdefault("attributes", {})[name] = "anything"
    return True


def wrong_type(draw: Draw, doc: Doc, catalog: Catalog) -> bool:
    f = _pick(draw, doc["findings"])
    s = _pick(draw, doc["studies"])
    edits: list[Callable[[], None]] = [
        lambda: doc.__setitem__("patient", []),
        lambda: doc.__setitem__("studies", {"id": "s1"}),
        lambda: doc.__setitem__("findings", "f1"),
        lambda: f.__setitem__("status", True),
        lambda: f.__setitem__("count", 1.5),
        lambda: f.__setitem__("count", "3"),
        lambda: f.__setitem__("size", {"value": "3", "unit": "mm"}),
        lambda: f.__setitem__("id", 7),
        lambda: f["code"].__setitem__("code", 123),
        lambda: f.__setitem__("bodySite", "hip"),
        lambda: f.__setitem__("attributes", []),
        lambda: s.__setitem__("date", 20240101),
        lambda: doc["patient"].__setitem__("age", {"value": "14", "unit": "a"}),
        lambda: doc["patient"].__setitem__("age", {"value": True, "unit": "a"}),
        lambda: doc.__setitem__("history", {}),
        lambda: doc.__setitem__("labs", [{"id": "l1", "code": "2777-1", "value": 3}]),
    ]
    if doc["patient"].get("birthDate"):
        edits.append(lambda: doc["patient"].__setitem__("birthDate", None))
    _pick(draw, edits)()
    return True


def bad_enum(draw: Draw, doc: Doc, catalog: Catalog) -> bool:
    f = _pick(draw, doc["findings"])
    edits: list[Callable[[], None]] = [
        lambda: f.__setitem__("status", draw(st.sampled_from(["maybe", "Present", "probable", ""]))),
        lambda: _pick(draw, doc["studies"]).__setitem__("modality", draw(st.sampled_from(["XR", "ct", "PET", ""]))),
        lambda: doc["patient"].__setitem__("sex", draw(st.sampled_from(["F", "m", "woman", ""]))),
        lambda: f.__setitem__("laterality", draw(st.sampled_from(["both", "Left", "l"]))),
        lambda: f.__setitem__("change", {"trend": draw(st.sampled_from(["worse", "better", "New"]))}),
        lambda: f.__setitem__("size", {"value": 3, "unit": draw(st.sampled_from(["in", "m", "MM"]))}),
        lambda: doc["patient"].__setitem__("age", {"value": 3, "unit": draw(st.sampled_from(["y", "yr", "years", "h"]))}),
        lambda: doc.setdefault("labs", []).append({"id": "bad-flag", "code": dict(REPORT_CODES[0]), "interpretation": "HIGH"}),
    ]
    attrs = catalog.findings_schema["$defs"]["attributes"]["properties"]
    if attrs:
        name = draw(st.sampled_from(sorted(attrs)))
        edits.append(lambda: f.setdefault("attributes", {}).__setitem__(
            name, "not-a-value" if "enum" in attrs[name] else ["not-a-value"]))
    _pick(draw, edits)()
    return True


BAD_DATES = ["2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "24-01-01", "2024/01/01", "2024-1-1", "", "yesterday",
             "2024-01-01T00:00:00Z"]


def bad_date(draw: Draw, doc: Doc, catalog: Catalog) -> bool:
    bad = draw(st.sampled_from(BAD_DATES))
    targets: list[dict[str, Any]] = list(doc["studies"]) + [doc["patient"]] + doc.get("history", []) + doc.get("labs", [])
    obj = _pick(draw, targets)
    key = "birthDate" if obj is doc["patient"] else "onsetDate" if obj in doc.get("history", []) else "date"
    if key == "birthDate":
        obj.pop("age", None)
    if key == "onsetDate":
        obj.pop("onsetBeforeStudy", None)
    obj[key] = bad
    return True


def out_of_range(draw: Draw, doc: Doc, catalog: Catalog) -> bool:
    f = _pick(draw, doc["findings"])
    edits: list[Callable[[], None]] = [
        lambda: f.__setitem__("size", {"value": draw(st.sampled_from([0, -1, -0.5, 2000.5, 1e9])), "unit": "mm"}),
        lambda: f.__setitem__("count", draw(st.sampled_from([-1, 10001]))),
        lambda: f.__setitem__("change", {"trend": "new", "interval": {"value": draw(st.sampled_from([-1, 100001])), "unit": "d"}}),
        lambda: doc["patient"].__setitem__("age", {"value": draw(st.sampled_from([-1, 50001, -0.1])), "unit": "d"}),
        lambda: doc["patient"].__setitem__("age", {"value": 131, "unit": "a"}),  # the cross-field 130-year rule
        lambda: doc.__setitem__("findings", []),
        lambda: doc.__setitem__("studies", []),
        lambda: doc.__setitem__("reportCode", []),
        lambda: doc.setdefault("labs", []).append(
            {"id": "neg", "code": dict(REPORT_CODES[0]), "value": {"value": draw(st.sampled_from([-1, 1000001])), "unit": "mg/dL"}}),
        lambda: doc.__setitem__("findings", [dict(f, id=f"f{i}") for i in range(201)]),
    ]
    _pick(draw, edits)()
    return True


def bad_pattern(draw: Draw, doc: Doc, catalog: Catalog) -> bool:
    f = _pick(draw, doc["findings"])
    edits: list[Callable[[], None]] = [
        lambda: f.__setitem__("id", draw(st.sampled_from(["", "-f1", "f 1", "f1!", "x" * 65]))),
        lambda: doc["patient"].__setitem__("subject", draw(st.sampled_from(["Patient/", "John Smith", "patient/1", "Patient/a b"]))),
        lambda: f["code"].__setitem__("code", draw(st.sampled_from([" lead", "trail ", "two  spaces", "", "x" * 65]))),
        lambda: f["code"].__setitem__("display", draw(st.sampled_from(["", "tab\there", "line\nbreak", "x" * 201]))),
        lambda: f["code"].__setitem__("system", draw(st.sampled_from(["not a uri", "", "x" * 201]))),
        lambda: f.__setitem__("note", draw(st.sampled_from(["", "bell\x07", "x" * 1001]))),
        lambda: doc.__setitem__("schemaVersion", draw(st.sampled_from(["2.0.0", "1.0", "v1.0.0", ""]))),
        lambda: f.__setitem__("attributes", {}),
        lambda: doc.setdefault("labs", []).append(
            {"id": "u", "code": dict(REPORT_CODES[0]), "value": {"value": 1, "unit": draw(st.sampled_from(["", "mg /dL", "µg/L"]))}}),
    ]
    _pick(draw, edits)()
    return True


def rule_violation(draw: Draw, doc: Doc, catalog: Catalog) -> bool:
    """Schema-valid documents the cross-field rules reject."""
    f = _pick(draw, doc["findings"])
    latest = date.fromisoformat(max(s["date"] for s in doc["studies"]))
    first = date.fromisoformat(min(s["date"] for s in doc["studies"]))
    view_labs = [lab for v in views(catalog) for lab in v.labs]
    edits: list[Callable[[], None]] = [
        lambda: doc["findings"].append(dict(copy.deepcopy(f))),  # duplicate finding id
        lambda: doc["studies"].append(dict(doc["studies"][0], modality="CT")),  # duplicate study id
        lambda: f.__setitem__("study", "no-such-study"),
        lambda: doc["patient"].update(age={"value": 3, "unit": "a"}, birthDate=(first - timedelta(days=1000)).isoformat()),
        lambda: doc["patient"].update(birthDate=(latest + timedelta(days=1)).isoformat()) or doc["patient"].pop("age", None),
        lambda: doc["patient"].update(birthDate=(latest - timedelta(days=int(131 * 365.25))).isoformat()) or doc["patient"].pop("age", None),
        lambda: f["code"].__setitem__("system", "http://example.org/unknown-system"),
        lambda: f.__setitem__("bodySite", {"system": "urn:oid:1.2.3", "code": "hip", "display": "Hip"}),
        lambda: doc.setdefault("labs", []).append({"id": "no-value", "code": dict(REPORT_CODES[0])}),
        lambda: doc.setdefault("labs", []).append({"id": "range-only", "code": dict(REPORT_CODES[0]), "interpretation": "H",
                                                   "referenceRange": {"low": 1}}),
        lambda: doc.setdefault("labs", []).append({"id": "inverted", "code": dict(REPORT_CODES[0]),
                                                   "value": {"value": 5, "unit": "mg/dL"}, "referenceRange": {"low": 9, "high": 3}}),
        lambda: doc.setdefault("history", []).append({"id": "future", "code": dict(REPORT_CODES[0]), "status": "present",
                                                      "onsetDate": (latest + timedelta(days=draw(st.integers(1, 400)))).isoformat()}),
        lambda: doc.setdefault("history", []).append({"id": "both-onsets", "code": dict(REPORT_CODES[0]), "status": "present",
                                                      "onsetDate": first.isoformat(), "onsetBeforeStudy": {"value": 1, "unit": "wk"}}),
    ]
    bounded_labs = [lab for lab in view_labs if lab.maximum is not None and lab.maximum * 2 <= 1_000_000]
    if bounded_labs:  # a value beyond anything the test can measure: a unit mix-up
        high = draw(st.sampled_from(bounded_labs))
        edits.append(lambda: doc.setdefault("labs", []).append({"id": "implausible", "code": dict(high.coding),
                                                                 "value": {"value": high.maximum * 2, "unit": high.unit}}))
    if view_labs:
        lab = draw(st.sampled_from(view_labs))
        wrong = draw(st.sampled_from([u for u in ("U/L", "mg/dL", "ng/mL", "kg/m2", "mm[Hg]")
                                      if units.converter(u, lab.unit, lab.molar_mass) is None]))
        edits.append(lambda: doc.setdefault("labs", []).append({"id": "bad-unit", "code": dict(lab.coding),
                                                                 "value": {"value": 5, "unit": wrong}}))
    _pick(draw, edits)()
    return True


def hostile_value(draw: Draw, doc: Doc, catalog: Catalog) -> bool:
    """Values an attacker sends: a code with a byte-order mark, an integer past 64 bits, a long array of unsortable items."""
    f = _pick(draw, doc["findings"])
    many = [n for n, spec in catalog.findings_schema["$defs"]["attributes"]["properties"].items() if "items" in spec]
    edits: list[Callable[[], None]] = [
        lambda: f["code"].__setitem__("code", "\ufeff" + f["code"]["code"]),
        lambda: f.__setitem__("count", 2**64 + draw(st.integers(0, 10))),
        lambda: doc.__setitem__("findings", doc["findings"] + [{"k": i} for i in range(draw(st.integers(201, 400)))]),
    ]
    if many:
        name = draw(st.sampled_from(many))
        edits.append(lambda: f.setdefault("attributes", {}).__setitem__(name, [{"k": i} for i in range(draw(st.integers(50, 300)))]))
    _pick(draw, edits)()
    return True


MUTATIONS: dict[str, Mutation] = {
    "drop_required": drop_required, "unknown_property": unknown_property, "unknown_attribute": unknown_attribute,
    "wrong_type": wrong_type, "bad_enum": bad_enum, "bad_date": bad_date, "out_of_range": out_of_range,
    "bad_pattern": bad_pattern, "rule_violation": rule_violation, "hostile_value": hostile_value,
}


@st.composite
def invalid_documents(draw: Draw, catalog: Catalog) -> Doc:
    """A valid document with one mutation the schema or the cross-field rules reject."""
    doc = copy.deepcopy(draw(findings_documents(catalog)))
    for _ in range(5):
        name = draw(st.sampled_from(sorted(MUTATIONS)))
        if MUTATIONS[name](draw, doc, catalog):
            note(f"mutation: {name}")
            return doc
    drop_required(draw, doc, catalog)
    return doc


@st.composite
def unreadable_bodies(draw: Draw, catalog: Catalog) -> bytes:
    """Bytes that are not strict JSON: truncated, repeated keys, NaN, not UTF-8, nested too deep."""
    text_ = json.dumps(draw(findings_documents(catalog)))
    kind = draw(st.sampled_from(["truncated", "duplicate", "nan", "latin1", "deep", "trailing", "single-quotes"]))
    note(f"unreadable: {kind}")
    if kind == "truncated":
        return text_[: draw(st.integers(1, len(text_) - 1))].encode()
    if kind == "duplicate":
        return ('{"patient": {}, ' + text_[1:]).encode()
    if kind == "nan":
        return text_.replace('"studies"', '"x": NaN, "studies"', 1).encode()
    if kind == "latin1":
        return text_.replace('"studies"', '"studi\u00e9s"', 1).encode("latin-1")
    if kind == "deep":
        return ("[" * 40 + "]" * 40).encode()
    if kind == "trailing":
        return (text_ + ",").encode()
    return text_.replace('"', "'").encode()
