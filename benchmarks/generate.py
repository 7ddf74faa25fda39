"""Findings documents drawn at random from the loaded packs' own vocabulary, fast and reproducible (for run_all.py).

    documents(catalog, seed, n)  ->  n findings documents (dicts) the schema and the cross-field rules should accept

The same vocabulary view as the property tests (`tests.strategies.views`: concept, body-site and lab codings as
GET /knowledge lists them, attribute names and values with their cardinality, the scope predicate's concepts), drawn
with `random.Random(seed)` instead of Hypothesis, so that 10,000 documents cost a fraction of a second. Most documents
(~90 %) carry a finding the scope predicate names, so the real rules run; documents the checks refuse are counted by
the caller (there should be none).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from plugin.knowledge.catalog import Catalog
from tests.strategies import MODALITIES, NOTES, TRENDS, PackView, sig, views


def _finding(rng: random.Random, view: PackView, ident: str, study: str, scoped: bool) -> dict[str, Any]:
    if scoped and view.scope:
        code, status = rng.choice(view.scope), "present"
    else:
        code, status = rng.choice(view.findings), rng.choice(["present", "present", "absent"])
    out: dict[str, Any] = {"id": ident, "study": study, "code": dict(code), "status": status}
    if rng.randrange(4):
        out["bodySite"] = dict(rng.choice(view.sites))
    if rng.randrange(2):
        out["laterality"] = rng.choice(["left", "right", "bilateral", "midline"])
    if status == "present":
        attrs: dict[str, Any] = {}
        for name, many, values in view.attributes:
            if rng.randrange(3):
                continue
            attrs[name] = rng.sample(values, rng.randint(1, min(3, len(values)))) if many else rng.choice(values)
        if attrs:
            out["attributes"] = attrs
        if rng.randrange(2):
            out["size"] = {"value": rng.randint(1, 300), "unit": "mm"}
        if rng.randrange(3) == 0:
            out["count"] = rng.randint(1, 60)
        if rng.randrange(4) == 0:
            out["change"] = {"trend": rng.choice(TRENDS)}
    if rng.randrange(6) == 0:
        out["note"] = rng.choice(NOTES)
    return out


def _lab(rng: random.Random, view: PackView, ident: str) -> dict[str, Any]:
    lab = rng.choice(view.labs)
    lo, hi, ref_lo, ref_hi = lab.plausible
    out: dict[str, Any] = {"id": ident, "code": dict(lab.coding)}
    if rng.randrange(4) == 0:
        out["interpretation"] = rng.choice(["H", "L", "N"])
    else:
        out["value"] = {"value": sig(lo + (hi - lo) * rng.random(), 3), "unit": lab.unit}
        out["referenceRange"] = {"low": sig(ref_lo, 3), "high": sig(ref_hi, 3)}
    return out


def document(rng: random.Random, catalog: Catalog, n_findings: int | None = None) -> dict[str, Any]:
    view = rng.choice(views(catalog))
    first = date(2010, 1, 1) + timedelta(days=rng.randrange(5000))
    studies = [{"id": f"s{i + 1}", "modality": rng.choice(MODALITIES), "date": (first + timedelta(days=90 * i)).isoformat()}
               for i in range(rng.randint(1, 2))]
    latest = date.fromisoformat(studies[-1]["date"])
    doc: dict[str, Any] = {"patient": {}, "studies": studies}
    if rng.randrange(8):
        unit = rng.choice(["d", "mo", "a", "a", "a"])
        doc["patient"]["age"] = {"value": rng.randint(0, {"d": 60, "mo": 36, "a": 30}[unit]), "unit": unit}
    if rng.randrange(6):
        doc["patient"]["sex"] = rng.choice(["female", "male"])
    scoped = rng.randrange(10) > 0
    count = n_findings if n_findings is not None else rng.randint(1, 6)
    doc["findings"] = [_finding(rng, view, f"f{k + 1}", rng.choice(studies)["id"], scoped and k == 0) for k in range(count)]
    if view.history and rng.randrange(2):
        doc["history"] = [{"id": f"h{k + 1}", "code": dict(rng.choice(view.history)),
                           "status": rng.choice(["present", "present", "absent"])} for k in range(rng.randint(1, 3))]
        for h in doc["history"]:
            if h["status"] == "present" and rng.randrange(2):
                h["onsetDate"] = (latest - timedelta(days=rng.randrange(3650))).isoformat()
    if view.labs and rng.randrange(3) == 0:
        doc["labs"] = [_lab(rng, view, f"l{k + 1}") for k in range(rng.randint(1, 3))]
    return doc


def documents(catalog: Catalog, seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [document(rng, catalog) for _ in range(n)]
