"""The project's own code systems and extension definitions as FHIR R4 JSON, at the canonical URLs the output uses.

`ddx pack publish` writes them to mappings/fhir/; a test keeps the committed files equal to what this makes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from plugin import __version__, paths
from plugin.catalog import Catalog
from plugin.fhir import terms
from plugin.knowledge import discover
from plugin.pack_checker import ICD10CM_TABLE, buildable_codes
from plugin.pack_model import Pack

OUT_DIR = paths.MAPPINGS_DIR / "fhir"


def _code_system(url: str, version: str, title: str, concepts: list[tuple[str, str]]) -> dict[str, Any]:
    ident = url.rsplit("/", 1)[1]
    return {
        "resourceType": "CodeSystem", "id": ident, "url": url, "version": version,
        "name": "".join(part.capitalize() for part in ident.replace("-", " ").split()), "title": title,
        "status": "active", "experimental": False, "publisher": "rad-ddx", "caseSensitive": True, "content": "complete",
        "count": len(concepts), "concept": [{"code": c, "display": d} for c, d in concepts],
    }


def pack_code_systems(pack: Pack) -> list[dict[str, Any]]:
    voc = pack.raw["vocabulary"]
    v = pack.version
    return [
        _code_system(pack.system("concept"), v, f"{pack.title}: findings, history items and labs",
                     [(c["id"], c["display"]) for c in voc["concepts"]] + [(x["id"], x["display"]) for x in voc["labs"]]),
        _code_system(pack.system("body-site"), v, f"{pack.title}: body sites", [(s["id"], s["display"]) for s in voc["body_sites"]]),
        _code_system(pack.system("attribute"), v, f"{pack.title}: finding attributes", [(a["id"], a["display"]) for a in voc["attributes"]]),
        _code_system(pack.system("attribute-value"), v, f"{pack.title}: finding attribute values",
                     [(x["id"], x["display"]) for a in voc["attributes"] for x in a["values"]]),
        _code_system(pack.system("diagnosis"), v, f"{pack.title}: diagnoses", [(d.id, d.display) for d in pack.diagnoses.values()]),
        _code_system(pack.system("group"), v, f"{pack.title}: diagnosis groups", list(pack.groups.items())),
    ]


def _extension(url: str, title: str, definition: str, value_type: str) -> dict[str, Any]:
    ident = url.rsplit("/", 1)[1]
    return {
        "resourceType": "StructureDefinition", "id": ident, "url": url, "version": __version__,
        "name": "".join(part.capitalize() for part in ident.split("-")), "title": title, "status": "active",
        "publisher": "rad-ddx", "description": definition, "fhirVersion": "4.0.1", "kind": "complex-type", "abstract": False,
        "context": [{"type": "element", "expression": "Condition"}, {"type": "element", "expression": "RiskAssessment.prediction"}],
        "type": "Extension", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension", "derivation": "constraint",
        "differential": {"element": [
            {"id": "Extension", "path": "Extension", "short": title, "definition": definition, "min": 0, "max": "1"},
            {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 1, "type": [{"code": value_type}]},
        ]},
    }


def definitions(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """File name -> resource, for every definition the output refers to."""
    resources = [
        _extension(terms.EXT_GROUP, "Differential group", "The chapter group of a suggested diagnosis, from the pack's group code system.",
                   "Coding"),
        _extension(terms.EXT_RANK, "Differential rank", "The position of a suggested diagnosis in the ranked differential (1 = first).",
                   "integer"),
        _code_system(terms.FINDING_PROPERTY, __version__, "rad-ddx finding properties", sorted(terms.PROPERTIES.items())),
    ]
    for pack in catalog.packs:
        resources += pack_code_systems(pack)
    return {f"{r['resourceType']}-{r['id']}.json": r for r in resources}


def icd10cm_table(diagnoses: Mapping[str, Any]) -> dict[str, Any]:
    """The official display of every leaf code a pack's site templates can build, from its parsed diagnoses.yaml.

    Codes that are not leaves are left out, so the pack then fails to load and says which.
    """
    import simple_icd_10_cm as cm  # the official FY2026 tables: only here and in `ddx pack check`, never per worker

    templates = [d["icd10cm_by_site"] for d in diagnoses.get("diagnoses", []) if "icd10cm_by_site" in d]
    codes = set().union(*(buildable_codes(t) for t in templates))
    return {"source": "ICD-10-CM FY2026 tabular (April 1 2026), via simple-icd-10-cm 1.5.0",
            "codes": {c: cm.get_description(c) for c in sorted(codes) if cm.is_valid_item(c) and cm.is_leaf(c)}}


def write_icd10cm_tables(mappings_dir: Path = paths.MAPPINGS_DIR) -> list[Path]:
    """Before the packs load (they need these tables): one table per pack folder."""
    written = []
    for folder in discover(mappings_dir):
        diagnoses = yaml.safe_load((folder / "diagnoses.yaml").read_text(encoding="utf-8"))
        path = folder / ICD10CM_TABLE
        path.write_text(json.dumps(icd10cm_table(diagnoses), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def write(catalog: Catalog, out_dir: Path = OUT_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, resource in definitions(catalog).items():
        path = out_dir / name
        path.write_text(json.dumps(resource, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
