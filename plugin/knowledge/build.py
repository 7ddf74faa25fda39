"""A pack's parsed files -> the immutable Pack: cross-references checked, predicates compiled, lookups precomputed.

One function per file, in the order they depend on each other: vocabulary, diagnoses, clues, discriminators, cautions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from plugin import units
from plugin.errors import PackInvalid
from plugin.knowledge.checker import Checker
from plugin.knowledge.form import build_form
from plugin.knowledge.icd10cm import ICD10CM_TABLE, site_codes
from plugin.knowledge.intervals import build_intervals
from plugin.knowledge.model import CautionRule, Clue, Diagnosis, Discriminator, Effect, Pack
from plugin.knowledge.predicates import Test, Vocabulary
from plugin.model import ClueOutcome, Coding, EffectKind, Likelihood

Codes = dict[tuple[str, str], tuple[str, str]]  # (system, code) -> (kind, id)


def build_pack(folder: Path, raw: Mapping[str, Any]) -> Pack:
    """Check the parsed files against each other and build the Pack; raise PackInvalid listing every problem."""
    check = Checker(folder)
    man, voc = raw["manifest"], raw["vocabulary"]
    sources = {s["id"]: s for s in man["sources"]}
    vocab = _vocabulary(voc, check)
    codes: Codes = {}
    base = man["code_system_base"]
    _index(codes, check, base, "concept", "concept", voc["concepts"], "vocabulary.yaml", "concepts")
    _index(codes, check, base, "lab", "concept", voc["labs"], "vocabulary.yaml", "labs")
    _index(codes, check, base, "site", "body-site", voc["body_sites"], "vocabulary.yaml", "body_sites")
    groups, diagnoses = _diagnoses(folder, raw["diagnoses"], man["scoring"]["priors"], vocab, sources, check)
    _index(codes, check, base, "diagnosis", "diagnosis", raw["diagnoses"]["diagnoses"], "diagnoses.yaml", "diagnoses")
    clues = _clues(raw["clues"]["clues"], diagnoses, vocab, sources, man["scoring"]["next_step"], check)
    discriminators = _discriminators(raw["discriminators"]["discriminators"], {c.id: c for c in clues}, sources, check)
    cautions = _cautions(raw["cautions"]["cautions"], diagnoses, {d.id for d in discriminators}, sources, vocab, check)
    form = build_form(man, raw["diagnoses"], set(diagnoses), {d.id for d in discriminators}, check, frozenset(c.id for c in clues))
    scope = check.compile("pack.yaml", "scope.when", man["scope"]["when"], vocab)
    intervals = build_intervals(man, vocab, sources, check)
    _verified(raw, check)
    if check.problems:
        raise PackInvalid(check.problems)
    return Pack(
        id=man["id"], version=man["version"], title=man["title"], code_system_base=base,
        scope_statement=man["scope"]["statement"], scope=scope, intended_use=man["intended_use"],
        limitations=tuple(man["limitations"]),
        age_penalty=float(man["scoring"]["age_outside_usual_range"]),
        min_score=float(man["scoring"]["report_min_score"]),
        likelihood=tuple(sorted(((b["min_score"], Likelihood(b["code"]), b["display"]) for b in man["scoring"]["likelihood"]),
                                reverse=True)),
        sources=sources, vocabulary=vocab, raw=raw, groups=groups, diagnoses=diagnoses, clues=tuple(clues),
        discriminators=tuple(discriminators), cautions=tuple(cautions), codes=codes, displays=_displays(voc),
        scope_concepts=frozenset(_named(man["scope"]["when"], "finding", "concept")),
        unstated={(c.id, e.diagnosis): ClueOutcome(c.id, c.statement, e.effect, e.weight, e.reason, c.sources)
                  for c in clues for e in c.effects},
        next_step_neighbours=int(man["scoring"]["next_step"]["neighbours"]), form=form, intervals=intervals,
        clinical_only=bool(man["scope"].get("clinical_only", False)),
        supported_by={c.id: len({form.families.get(e.diagnosis, (e.diagnosis, ""))[0] for e in c.effects
                                 if e.effect is EffectKind.SUPPORTS}) for c in clues},
    )


def _verified(raw: Mapping[str, Any], check: Checker) -> None:
    """Every standard coding the pack uses is listed in codes.yaml, with the same display, as verified."""
    record = {(c["system"], c["code"]): c["display"] for c in raw["codes"]["codes"]}
    voc = raw["vocabulary"]
    used = [("diagnoses.yaml", f"diagnoses[{i}].codes[{j}]", c) for i, d in enumerate(raw["diagnoses"]["diagnoses"])
            for j, c in enumerate(d.get("codes", []))]
    used += [("vocabulary.yaml", f"{group}[{i}].codings[{j}]", c) for group in ("concepts", "body_sites", "labs")
             for i, item in enumerate(voc[group]) for j, c in enumerate(item.get("codings", []))]
    for filename, path, c in used:
        display = record.get((c["system"], c["code"]))
        if display is None:
            check.add(filename, path, f"{c['system']}|{c['code']} is not listed as verified in codes.yaml")
        elif display != c["display"]:
            check.add(filename, path, f"display '{c['display']}' differs from the verified display '{display}' in codes.yaml")


def _vocabulary(voc: Mapping[str, Any], check: Checker) -> Vocabulary:
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
    return Vocabulary(
        concepts={c["id"]: c["kind"] for c in voc["concepts"]},
        attributes={a["id"]: frozenset(v["id"] for v in a["values"]) for a in voc["attributes"]},
        sites=frozenset(sites),
        site_sets={s["id"]: frozenset(s["sites"]) for s in voc.get("site_sets", [])},
        lab_units={lab["id"]: (lab["unit"], lab.get("molar_mass")) for lab in voc["labs"]},
        lab_max={lab["id"]: lab["plausible_max"] for lab in voc["labs"] if "plausible_max" in lab},
    )


def _index(codes: Codes, check: Checker, base: str, kind: str, system_kind: str,
           items: Iterable[Mapping[str, Any]], filename: str, listname: str) -> None:
    """Register each item under its own pack code and its standard codings; one code, one meaning."""
    for i, item in enumerate(items):
        keys = [(f"{base}-{system_kind}", item["id"])] + [(c["system"], c["code"]) for c in item.get("codings", [])]
        for key in keys:
            if key in codes and codes[key] != (kind, item["id"]):
                check.add(filename, f"{listname}[{i}]", f"code {key[0]}|{key[1]} is already used by {codes[key][1]}")
            codes[key] = (kind, item["id"])


def _diagnoses(folder: Path, dia: Mapping[str, Any], priors: Mapping[str, float], vocab: Vocabulary,
               sources: Mapping[str, Any], check: Checker) -> tuple[dict[str, str], dict[str, Diagnosis]]:
    groups = {g["id"]: g["display"] for g in dia["groups"]}
    check.unique("diagnoses.yaml", dia["groups"], "groups")
    check.unique("diagnoses.yaml", dia["diagnoses"], "diagnoses")
    table_file = folder / ICD10CM_TABLE
    icd_table = json.loads(table_file.read_text(encoding="utf-8"))["codes"] if table_file.exists() else {}
    diagnoses: dict[str, Diagnosis] = {}
    for i, d in enumerate(dia["diagnoses"]):
        here = f"diagnoses[{i}]"
        if d["group"] not in groups:
            check.add("diagnoses.yaml", f"{here}.group", f"group '{d['group']}' is not defined")
        if d["frequency"] not in priors:
            check.add("diagnoses.yaml", f"{here}.frequency", f"frequency '{d['frequency']}' has no prior in pack.yaml scoring.priors")
        if not d.get("codes") and not d.get("missing_standard_code"):
            check.add("diagnoses.yaml", here, "a diagnosis without a standard code must say why in missing_standard_code")
        age = d.get("usual_age")
        if age:
            check.sources("diagnoses.yaml", f"{here}.usual_age.source", age["source"], sources)
            for j, concept in enumerate(age.get("onset_of", [])):
                if vocab.concepts.get(concept) != "history":
                    check.add("diagnoses.yaml", f"{here}.usual_age.onset_of[{j}]", f"'{concept}' is not a history concept")
        rng = age["range"] if age else {}
        diagnoses[d["id"]] = Diagnosis(
            id=d["id"], display=d["display"], group=d["group"], frequency=d["frequency"],
            prior=float(priors.get(d["frequency"], 0.0)),
            usual_age=(_days(rng.get("min")), _days(rng.get("max"))) if age else None,
            usual_age_text=_range_text(rng) if age else None,
            usual_age_sources=tuple(age["source"]) if age else (),
            usual_age_onset_of=frozenset(age.get("onset_of", [])) if age else frozenset(),
            codes=tuple(Coding(c["system"], c["code"], c["display"]) for c in d.get("codes", [])),
            missing_standard_code=d.get("missing_standard_code"),
            outside_pack=bool(d.get("outside_pack", False)),
            sources=check.sources("diagnoses.yaml", f"{here}.source", d["source"], sources),
            site_codes=site_codes(d["icd10cm_by_site"], check, f"{here}.icd10cm_by_site", set(vocab.sites), icd_table)
            if "icd10cm_by_site" in d else None,
        )
    return groups, diagnoses


def _effect(e: Mapping[str, Any], next_step: Mapping[str, float]) -> Effect:
    kind, weight = EffectKind(e["effect"]), float(e.get("weight", 0.0))
    signed = {EffectKind.SUPPORTS: weight, EffectKind.OPPOSES: -weight, EffectKind.REQUIRED: float(next_step["required_weight"]),
              EffectKind.EXCLUDES: float(next_step["excludes_weight"])}[kind]
    return Effect(e["diagnosis"], kind, weight, e["reason"], signed)


def _clues(items: list[Mapping[str, Any]], diagnoses: Mapping[str, Diagnosis], vocab: Vocabulary,
           sources: Mapping[str, Any], next_step: Mapping[str, float], check: Checker) -> list[Clue]:
    check.unique("clues.yaml", items, "clues")
    clues = []
    for i, c in enumerate(items):
        here = f"clues[{i}]"
        for j, e in enumerate(c["effects"]):
            if e["diagnosis"] not in diagnoses:
                check.add("clues.yaml", f"{here}.effects[{j}].diagnosis", f"diagnosis '{e['diagnosis']}' is not defined")
        clues.append(Clue(
            id=c["id"], statement=c["statement"],
            test=check.compile("clues.yaml", f"{here}.when", c["when"], vocab),
            effects=tuple(_effect(e, next_step) for e in c["effects"]),
            sources=check.sources("clues.yaml", f"{here}.source", c["source"], sources),
            concepts=frozenset(_named(c["when"], "finding", "concept") | _named(c["when"], "history", "concept")),
            labs=frozenset(_named(c["when"], "lab", "test")),
        ))
    return clues


def _discriminators(items: list[Mapping[str, Any]], clues: Mapping[str, Clue], sources: Mapping[str, Any],
                    check: Checker) -> list[Discriminator]:
    check.unique("discriminators.yaml", items, "discriminators")
    for i, d in enumerate(items):
        for j, ref in enumerate(d["resolves"]):
            if ref not in clues:
                check.add("discriminators.yaml", f"discriminators[{i}].resolves[{j}]", f"clue '{ref}' is not defined")
    out = []
    for i, d in enumerate(items):
        # what each resolved clue would move, once per pack: the next-step search weighs these for every report
        effects = tuple(moved for ref in d["resolves"] if ref in clues
                        for moved in ({e.diagnosis: e.signed for e in clues[ref].effects},) if moved)
        out.append(Discriminator(d["id"], d["statement"], d["kind"], tuple(d["resolves"]),
                                 check.sources("discriminators.yaml", f"discriminators[{i}].source", d["source"], sources),
                                 effects, frozenset(dx for moved in effects for dx in moved)))
    return out


def _cautions(items: list[Mapping[str, Any]], diagnoses: Mapping[str, Diagnosis], discriminator_ids: set[str],
              sources: Mapping[str, Any], vocab: Vocabulary, check: Checker) -> list[CautionRule]:
    check.unique("cautions.yaml", items, "cautions")
    for i, c in enumerate(items):
        if c["diagnosis"] not in diagnoses:
            check.add("cautions.yaml", f"cautions[{i}].diagnosis", f"diagnosis '{c['diagnosis']}' is not defined")
        for j, ref in enumerate(c.get("avoid_discriminators", [])):
            if ref not in discriminator_ids:
                check.add("cautions.yaml", f"cautions[{i}].avoid_discriminators[{j}]", f"discriminator '{ref}' is not defined")
        if c.get("overriding") and not c.get("headline"):
            check.add("cautions.yaml", f"cautions[{i}]", "an overriding caution needs a headline for the header")

    def test(i: int, c: Mapping[str, Any], key: str) -> Test | None:
        return check.compile("cautions.yaml", f"cautions[{i}].{key}", c[key], vocab) if key in c else None

    return [CautionRule(c["id"], c["diagnosis"], c["statement"], c["within_rank"], frozenset(c.get("avoid_discriminators", [])),
                        check.sources("cautions.yaml", f"cautions[{i}].source", c["source"], sources),
                        test(i, c, "when"), test(i, c, "unless"), bool(c.get("overriding", False)), c.get("headline"))
            for i, c in enumerate(items)]


def _days(quantity: Mapping[str, Any] | None) -> float | None:
    return None if quantity is None else units.to_days(quantity["value"], quantity["unit"])


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
