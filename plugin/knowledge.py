"""Knowledge packs: load mappings/<pack>/ once, check it whole, compile its predicates.

A broken pack fails here, at start-up, with file, path and reason; never at request time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

from plugin import paths, units
from plugin.errors import PackInvalid, PackProblem
from plugin.model import ClueOutcome, Coding
from plugin.pack_checker import ICD10CM_TABLE, Checker, site_codes
from plugin.pack_model import CautionRule, Clue, Diagnosis, Discriminator, Effect, Pack
from plugin.predicates import Vocabulary

__all__ = ["Clue", "Diagnosis", "Effect", "Pack", "PackInvalid", "discover", "load_pack", "load_packs"]

PACK_FILES = {
    "pack.yaml": "manifest",
    "vocabulary.yaml": "vocabulary",
    "diagnoses.yaml": "diagnoses",
    "clues.yaml": "clues",
    "discriminators.yaml": "discriminators",
    "cautions.yaml": "cautions",
}


def _load_schema(schemas_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((schemas_dir / name).read_text(encoding="utf-8"))


def _file_validators(schemas_dir: Path) -> dict[str, jsonschema.Draft202012Validator]:
    schema = _load_schema(schemas_dir, paths.PACK_SCHEMA)
    registry: Registry = Resource.from_contents(schema) @ Registry()
    out = {}
    for kind in set(PACK_FILES.values()):
        ref = {"$ref": f"{schema['$id']}#/$defs/{kind}"}
        out[kind] = jsonschema.Draft202012Validator(
            ref, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
    return out


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def load_pack(folder: Path, schemas_dir: Path = paths.SCHEMAS_DIR) -> Pack:
    """Load and check one pack folder; raise PackInvalid listing every problem found."""
    problems: list[PackProblem] = []
    raw: dict[str, Any] = {}
    validators = _file_validators(schemas_dir)
    for filename, kind in PACK_FILES.items():
        file = folder / filename
        if not file.is_file():
            problems.append(PackProblem(str(file), "", "file missing"))
            continue
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(PackProblem(str(file), "", f"not valid YAML: {exc}"))
            continue
        for err in sorted(validators[kind].iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
            problems.append(PackProblem(str(file), _json_path(err.absolute_path), err.message))
        raw[kind] = data
    if problems:
        raise PackInvalid(problems)
    return _build(folder, raw)


def _build(folder: Path, raw: Mapping[str, Any]) -> Pack:
    check = Checker(folder)
    man, voc, dia = raw["manifest"], raw["vocabulary"], raw["diagnoses"]
    sources = {s["id"]: s for s in man["sources"]}
    priors = man["scoring"]["priors"]

    check.unique("vocabulary.yaml", voc["concepts"], "concepts")
    check.unique("vocabulary.yaml", voc["attributes"], "attributes")
    value_owner: dict[str, str] = {}
    for i, attr in enumerate(voc["attributes"]):
        for j, value in enumerate(attr["values"]):
            if value["id"] in value_owner:
                check.add("vocabulary.yaml", f"attributes[{i}].values[{j}].id", f"value '{value['id']}' already defined")
            value_owner[value["id"]] = attr["id"]
    sites = check.unique("vocabulary.yaml", voc["body_sites"], "body_sites")
    check.unique("vocabulary.yaml", voc.get("site_sets", []), "site_sets")
    for i, s in enumerate(voc.get("site_sets", [])):
        for j, site in enumerate(s["sites"]):
            if site not in sites:
                check.add("vocabulary.yaml", f"site_sets[{i}].sites[{j}]", f"body site '{site}' is not defined")
    check.unique("vocabulary.yaml", voc["labs"], "labs")
    for i, lab in enumerate(voc["labs"]):
        if not units.is_known(lab["unit"]):
            check.add("vocabulary.yaml", f"labs[{i}].unit", f"unit '{lab['unit']}' is not a supported UCUM unit")
    vocab = Vocabulary(
        concepts={c["id"]: c["kind"] for c in voc["concepts"]},
        attributes={a["id"]: frozenset(v["id"] for v in a["values"]) for a in voc["attributes"]},
        sites=frozenset(sites),
        site_sets={s["id"]: frozenset(s["sites"]) for s in voc.get("site_sets", [])},
        lab_units={lab["id"]: (lab["unit"], lab.get("molar_mass")) for lab in voc["labs"]},
        lab_max={lab["id"]: lab["plausible_max"] for lab in voc["labs"] if "plausible_max" in lab},
    )

    base = man["code_system_base"]
    codes: dict[tuple[str, str], tuple[str, str]] = {}

    def index(kind: str, system_kind: str, items: Iterable[Mapping[str, Any]], filename: str, listname: str) -> None:
        for i, item in enumerate(items):
            keys = [(f"{base}-{system_kind}", item["id"])]
            keys += [(c["system"], c["code"]) for c in item.get("codings", [])]
            for key in keys:
                if key in codes and codes[key] != (kind, item["id"]):
                    check.add(filename, f"{listname}[{i}]", f"code {key[0]}|{key[1]} is already used by {codes[key][1]}")
                codes[key] = (kind, item["id"])

    index("concept", "concept", voc["concepts"], "vocabulary.yaml", "concepts")
    index("lab", "concept", voc["labs"], "vocabulary.yaml", "labs")
    index("site", "body-site", voc["body_sites"], "vocabulary.yaml", "body_sites")

    groups = {g["id"]: g["display"] for g in dia["groups"]}
    check.unique("diagnoses.yaml", dia["groups"], "groups")
    check.unique("diagnoses.yaml", dia["diagnoses"], "diagnoses")
    diagnoses: dict[str, Diagnosis] = {}
    table_file = folder / ICD10CM_TABLE
    icd_table = json.loads(table_file.read_text(encoding="utf-8"))["codes"] if table_file.exists() else {}
    for i, d in enumerate(dia["diagnoses"]):
        here = f"diagnoses[{i}]"
        if d["group"] not in groups:
            check.add("diagnoses.yaml", f"{here}.group", f"group '{d['group']}' is not defined")
        if d["frequency"] not in priors:
            check.add("diagnoses.yaml", f"{here}.frequency", f"frequency '{d['frequency']}' has no prior in pack.yaml scoring.priors")
        age = d.get("usual_age")
        age_days = None
        age_text = None
        if age:
            rng = age["range"]
            age_days = (
                units.to_days(rng["min"]["value"], rng["min"]["unit"]) if "min" in rng else None,
                units.to_days(rng["max"]["value"], rng["max"]["unit"]) if "max" in rng else None,
            )
            age_text = _range_text(rng)
            check.sources("diagnoses.yaml", f"{here}.usual_age.source", age["source"], sources)
        if not d.get("codes") and not d.get("missing_standard_code"):
            check.add("diagnoses.yaml", here, "a diagnosis without a standard code must say why in missing_standard_code")
        diagnoses[d["id"]] = Diagnosis(
            id=d["id"],
            display=d["display"],
            group=d["group"],
            frequency=d["frequency"],
            prior=float(priors.get(d["frequency"], 0.0)),
            usual_age=age_days,
            usual_age_text=age_text,
            usual_age_sources=tuple(age["source"]) if age else (),
            codes=tuple(Coding(c["system"], c["code"], c["display"]) for c in d.get("codes", [])),
            missing_standard_code=d.get("missing_standard_code"),
            outside_pack=bool(d.get("outside_pack", False)),
            sources=check.sources("diagnoses.yaml", f"{here}.source", d["source"], sources),
            site_codes=site_codes(d["icd10cm_by_site"], check, f"{here}.icd10cm_by_site", set(vocab.sites), icd_table)
                       if "icd10cm_by_site" in d else None,
        )
    index("diagnosis", "diagnosis", dia["diagnoses"], "diagnoses.yaml", "diagnoses")

    clues: list[Clue] = []
    check.unique("clues.yaml", raw["clues"]["clues"], "clues")
    for i, c in enumerate(raw["clues"]["clues"]):
        here = f"clues[{i}]"
        effects = []
        for j, e in enumerate(c["effects"]):
            if e["diagnosis"] not in diagnoses:
                check.add("clues.yaml", f"{here}.effects[{j}].diagnosis", f"diagnosis '{e['diagnosis']}' is not defined")
            effects.append(Effect(e["diagnosis"], e["effect"], float(e.get("weight", 0.0)), e["reason"]))
        clues.append(
            Clue(
                id=c["id"],
                statement=c["statement"],
                test=check.compile("clues.yaml", f"{here}.when", c["when"], vocab),
                effects=tuple(effects),
                sources=check.sources("clues.yaml", f"{here}.source", c["source"], sources),
                concepts=frozenset(_named(c["when"], "finding", "concept") | _named(c["when"], "history", "concept")),
                labs=frozenset(_named(c["when"], "lab", "test")),
            )
        )
    clue_ids = {c.id for c in clues}

    discriminators = []
    check.unique("discriminators.yaml", raw["discriminators"]["discriminators"], "discriminators")
    for i, d in enumerate(raw["discriminators"]["discriminators"]):
        for j, ref in enumerate(d["resolves"]):
            if ref not in clue_ids:
                check.add("discriminators.yaml", f"discriminators[{i}].resolves[{j}]", f"clue '{ref}' is not defined")
        discriminators.append(
            Discriminator(d["id"], d["statement"], d["kind"], tuple(d["resolves"]),
                          check.sources("discriminators.yaml", f"discriminators[{i}].source", d["source"], sources))
        )
    disc_ids = {d.id for d in discriminators}

    cautions = []
    check.unique("cautions.yaml", raw["cautions"]["cautions"], "cautions")
    for i, c in enumerate(raw["cautions"]["cautions"]):
        if c["diagnosis"] not in diagnoses:
            check.add("cautions.yaml", f"cautions[{i}].diagnosis", f"diagnosis '{c['diagnosis']}' is not defined")
        for j, ref in enumerate(c.get("avoid_discriminators", [])):
            if ref not in disc_ids:
                check.add("cautions.yaml", f"cautions[{i}].avoid_discriminators[{j}]", f"discriminator '{ref}' is not defined")
        cautions.append(
            CautionRule(c["id"], c["diagnosis"], c["statement"], c["within_rank"], frozenset(c.get("avoid_discriminators", [])),
                        check.sources("cautions.yaml", f"cautions[{i}].source", c["source"], sources))
        )

    scope = check.compile("pack.yaml", "scope.when", man["scope"]["when"], vocab)
    if check.problems:
        raise PackInvalid(check.problems)
    bands = sorted(((b["min_score"], b["code"], b["display"]) for b in man["scoring"]["likelihood"]), reverse=True)
    return Pack(
        id=man["id"],
        version=man["version"],
        title=man["title"],
        code_system_base=base,
        scope_statement=man["scope"]["statement"],
        scope=scope,
        intended_use=man["intended_use"],
        limitations=tuple(man["limitations"]),
        age_penalty=float(man["scoring"]["age_outside_usual_range"]),
        min_score=float(man["scoring"]["report_min_score"]),
        likelihood=tuple(bands),
        sources=sources,
        vocabulary=vocab,
        raw=raw,
        groups=groups,
        diagnoses=diagnoses,
        clues=tuple(clues),
        discriminators=tuple(discriminators),
        cautions=tuple(cautions),
        codes=codes,
        displays=_displays(voc),
        signed={c.id: {e.diagnosis: e.signed for e in c.effects} for c in clues},
        scope_concepts=frozenset(_named(man["scope"]["when"], "finding", "concept")),
        unstated={(c.id, e.diagnosis): ClueOutcome(c.id, c.statement, e.effect, e.weight, e.reason, c.sources)
                  for c in clues for e in c.effects},
    )


def _displays(voc: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    out = {("concept", c["id"]): c["display"] for c in voc["concepts"]}
    out |= {("lab", x["id"]): x["display"] for x in voc["labs"]}
    out |= {("site", x["id"]): x["display"] for x in voc["body_sites"]}
    for attr in voc["attributes"]:
        out[("attribute", attr["id"])] = attr["display"]
        out |= {("value", v["id"]): v["display"] for v in attr["values"]}
    return out


def _named(node: Any, op: str, key: str) -> set[str]:
    """Every id a predicate tree names under `op.key` (concepts, lab tests)."""
    found: set[str] = set()
    if isinstance(node, Mapping):
        for k, v in node.items():
            if k == op and isinstance(v, Mapping) and key in v:
                found |= {v[key]} if isinstance(v[key], str) else set(v[key])
            else:
                found |= _named(v, op, key)
    elif isinstance(node, list):
        for v in node:
            found |= _named(v, op, key)
    return found


def _range_text(rng: Mapping[str, Any]) -> str:
    names = {"min": "minutes", "h": "hours", "d": "days", "wk": "weeks", "mo": "months", "a": "years"}

    def q(x: Mapping[str, Any]) -> str:
        return f"{x['value']:g} {names[x['unit']]}"

    if "min" in rng and "max" in rng:
        return f"{q(rng['min'])} to {q(rng['max'])}"
    return f"from {q(rng['min'])}" if "min" in rng else f"under {q(rng['max'])}"


def discover(mappings_dir: Path = paths.MAPPINGS_DIR) -> list[Path]:
    return sorted(p.parent for p in mappings_dir.glob("*/pack.yaml"))


def load_packs(mappings_dir: Path = paths.MAPPINGS_DIR, schemas_dir: Path = paths.SCHEMAS_DIR) -> tuple[Pack, ...]:
    folders = discover(mappings_dir)
    if not folders:
        raise PackInvalid([PackProblem(str(mappings_dir), "", "no knowledge pack (no */pack.yaml) found")])
    problems: list[PackProblem] = []
    packs: list[Pack] = []
    for folder in folders:
        try:
            packs.append(load_pack(folder, schemas_dir))
        except PackInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise PackInvalid(problems)
    ids = [p.id for p in packs]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise PackInvalid([PackProblem(str(mappings_dir), "", f"pack id '{d}' used by more than one folder") for d in dupes])
    return tuple(packs)

