"""The loaded knowledge: every pack, plus the findings schema tightened to their vocabulary.

Built once at start-up and shared read-only by all requests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs

from plugin import paths
from plugin.knowledge.load import load_packs
from plugin.knowledge.model import Pack
from plugin.model import Coding
from plugin.schema_check import BoundedValidator

STANDARD_SYSTEMS = {
    "http://snomed.info/sct": "SNOMED CT",
    "http://radlex.org": "RadLex",
    "http://loinc.org": "LOINC",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
}


@dataclass(frozen=True, slots=True)
class Catalog:
    packs: tuple[Pack, ...]
    findings_schema: Mapping[str, Any]
    validator: BoundedValidator
    codes: Mapping[tuple[str, str], tuple[Pack, str, str]]  # (system, code) -> (pack, kind, id)
    known_systems: frozenset[str]
    # Built once (build_catalog) for every code and attribute value the packs know: read for each finding of each report.
    pack_codings: Mapping[tuple[str, str, str], Coding | None]  # (system, code, kind) -> the pack's own coding
    attribute_pairs: Mapping[tuple[str, str], tuple[Coding, Coding]]  # (name, value) -> their codings

    @property
    def version(self) -> str:
        return ",".join(f"{p.id}@{p.version}" for p in self.packs)

    def pack_coding(self, coding: Coding, kind: str) -> Coding | None:
        """The pack's own coding for a standard code a pack knows (None when unknown or already the pack's own).

        kind: concept, lab or site: which of the pack's systems and displays to use.
        """
        return self.pack_codings.get((coding.system, coding.code, kind))

    def attribute_codings(self, name: str, value: str) -> tuple[Coding, Coding]:
        """An attribute and its value in the systems of the first pack that defines the attribute."""
        return self.attribute_pairs[(name, value)]


def _own_coding(hit: tuple[Pack, str, str], system: str, kind: str) -> Coding | None:
    pack, _, ident = hit
    own = pack.system("concept" if kind in ("concept", "lab") else "body-site")
    return None if system == own else Coding(own, ident, pack.display(kind, ident))


def _attribute_pairs(packs: tuple[Pack, ...]) -> dict[tuple[str, str], tuple[Coding, Coding]]:
    """Every attribute name with every value any pack defines for it (the schema admits their union), in the
    systems of the first pack that defines the attribute."""
    values: dict[str, set[str]] = {}
    for pack in packs:
        for a in pack.raw["vocabulary"]["attributes"]:
            values.setdefault(a["id"], set()).update(v["id"] for v in a["values"])
    out = {}
    for name, named in values.items():
        owner = next(p for p in packs if name in p.vocabulary.attributes)
        attribute = Coding(owner.system("attribute"), name, owner.display("attribute", name))
        for value in named:
            out[(name, value)] = (attribute, Coding(owner.system("attribute-value"), value, owner.display("value", value)))
    return out


def attributes_schema(packs: tuple[Pack, ...]) -> dict[str, Any]:
    """The finding `attributes` definition for the loaded vocabularies: unknown names or values are errors."""
    props: dict[str, Any] = {}
    for pack in packs:
        for attr in pack.raw["vocabulary"]["attributes"]:
            values = sorted({v["id"] for v in attr["values"]} | set(props.get(attr["id"], {}).get("x-values", [])))
            token = {"enum": values}
            shape = token if attr["cardinality"] == "one" else {
                # maxItems: no more unique values than the attribute has (and a cheap bound checked before the rest)
                "type": "array", "minItems": 1, "maxItems": len(values), "uniqueItems": True, "items": token,
            }
            props[attr["id"]] = {"description": attr["display"], **shape, "x-values": values}
    for p in props.values():
        p.pop("x-values")
    return {
        "description": "Discriminating attributes of a finding; names and values from the loaded knowledge packs.",
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": props,
    }


def _inline_defs(node: Any, defs: Mapping[str, Any]) -> Any:
    """The schema as validated: every local '#/$defs/x' reference replaced by its target (the findings schema is not
    recursive), so the bounds can be read along the document's own structure (plugin.schema_check)."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            rest = {k: _inline_defs(v, defs) for k, v in node.items() if k != "$ref"}
            return {**_inline_defs(defs[ref.removeprefix("#/$defs/")], defs), **rest}
        return {k: _inline_defs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_defs(v, defs) for v in node]
    return node


def build_catalog(packs: tuple[Pack, ...], schemas_dir: Path = paths.SCHEMAS_DIR) -> Catalog:
    base = json.loads((schemas_dir / paths.FINDINGS_SCHEMA).read_text(encoding="utf-8"))
    schema = copy.deepcopy(base)
    schema["$defs"]["attributes"] = attributes_schema(packs)
    if not jsonschema_rs.meta.is_valid(schema):  # jsonschema (imported only then) says why
        import jsonschema

        jsonschema.Draft202012Validator.check_schema(schema)
    # Validate against the same schema with its $defs inlined: identical verdicts and instance paths.
    validator = BoundedValidator(_inline_defs(schema, schema["$defs"]))
    codes: dict[tuple[str, str], tuple[Pack, str, str]] = {}
    systems = set(STANDARD_SYSTEMS)
    for pack in packs:
        for key, (kind, ident) in pack.codes.items():
            codes.setdefault(key, (pack, kind, ident))
        systems |= {pack.system(k) for k in ("concept", "body-site", "diagnosis")}
    pack_codings = {(system, code, kind): _own_coding(hit, system, kind)
                    for (system, code), hit in codes.items() for kind in ("concept", "lab", "site")}
    return Catalog(packs, schema, validator, codes, frozenset(systems), pack_codings, _attribute_pairs(packs))


def load_catalog(mappings_dir: Path = paths.MAPPINGS_DIR, schemas_dir: Path = paths.SCHEMAS_DIR) -> Catalog:
    return build_catalog(load_packs(mappings_dir, schemas_dir), schemas_dir)
