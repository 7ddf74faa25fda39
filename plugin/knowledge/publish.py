"""The project's own code systems and extension definitions as FHIR R4 JSON, at the canonical URLs the output uses.

`ddx pack publish` writes them to mappings/fhir/; a test keeps the committed files equal to what this makes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plugin import paths, terms
from plugin.knowledge.catalog import Catalog
from plugin.knowledge.model import Pack
from plugin.version import __version__

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


def _extension(url: str, title: str, definition: str, value_type: str,
               contexts: tuple[str, ...] = ("Condition", "RiskAssessment.prediction")) -> dict[str, Any]:
    ident = url.rsplit("/", 1)[1]
    return {
        "resourceType": "StructureDefinition", "id": ident, "url": url, "version": __version__,
        "name": "".join(part.capitalize() for part in ident.split("-")), "title": title, "status": "active",
        "publisher": "rad-ddx", "description": definition, "fhirVersion": "4.0.1", "kind": "complex-type", "abstract": False,
        "context": [{"type": "element", "expression": c} for c in contexts],
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
        _extension(terms.EXT_ONSET_BEFORE_STUDY, "Onset before the study",
                   "FHIR input: how long before the (first) imaging study a history item began or happened.", "Duration",
                   ("Condition",)),
        _code_system(terms.MESSAGE_EVENT_SYSTEM, __version__, "rad-ddx message events (R5 MessageHeader.eventCoding)",
                     [(terms.MESSAGE_EVENT_CODE["code"], terms.MESSAGE_EVENT_CODE["display"])]),
        _code_system(terms.FINDING_PROPERTY, __version__, "rad-ddx finding properties", sorted(terms.PROPERTIES.items())),
    ]
    for pack in catalog.packs:
        resources += pack_code_systems(pack)
    return {f"{r['resourceType']}-{r['id']}.json": r for r in resources}


def write(catalog: Catalog, out_dir: Path = OUT_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, resource in definitions(catalog).items():
        path = out_dir / name
        path.write_text(json.dumps(resource, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
