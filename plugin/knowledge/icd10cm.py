"""Everything ICD-10-CM: the site templates checked at load, the leaf codes built for a report, the pack's table of
official leaves (`ddx pack publish`) and its check against the official tables (`ddx pack check`).

The official FY2026 tables (simple-icd-10-cm, ~180 MB in memory) are imported only by the two pack commands, never by
a worker: at run time the pack's checked table of leaves is enough.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from plugin import paths
from plugin.errors import PackProblem
from plugin.knowledge.checker import Checker
from plugin.knowledge.model import Diagnosis, Pack, SiteCodes
from plugin.model import Coding, FactKind, Report

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10CM_TABLE = "icd10cm-leaves.json"  # code -> official display, written by `ddx pack publish`, checked by `ddx pack check`


def buildable_codes(spec: Mapping[str, Any]) -> set[str]:
    """Every ICD-10-CM code an icd10cm_by_site template can build."""
    codes = {prefix + digit for prefix in set(spec["by_site"].values()) for digit in spec["laterality"].values()}
    return codes | {c for c in (spec.get("other_site", {}).get("code"), spec.get("multiple_sites")) if c}


def site_codes(spec: Mapping[str, Any], check: Checker, path: str, sites: set[str], table: Mapping[str, str]) -> SiteCodes:
    """The template, with each code it can build found in the pack's checked table of official ICD-10-CM leaves.

    The table keeps the 180 MB official tables out of every worker; `ddx pack check` proves it against them.
    """
    other = spec.get("other_site", {})
    for site in [*spec["by_site"], *other.get("sites", [])]:
        if site not in sites:
            check.add("diagnoses.yaml", f"{path}", f"body site '{site}' is not defined")
    displays = {}
    for code in sorted(buildable_codes(spec)):
        if code not in table:
            check.add("diagnoses.yaml", path, f"builds ICD-10-CM {code}, which is not a leaf in {ICD10CM_TABLE} (run `ddx pack publish`)")
        else:
            displays[code] = table[code]
    return SiteCodes(spec["by_site"], spec["laterality"], other.get("code"), frozenset(other.get("sites", [])),
                     spec.get("multiple_sites"), displays)


def codes_for(dx: Diagnosis, pack: Pack, report: Report) -> tuple[Coding, ...]:
    rule = dx.site_codes
    if rule is None:
        return dx.codes
    index = [f for c in pack.scope_concepts for f in report.by_concept.get(c, ()) if f.present and f.kind is FactKind.FINDING and f.site]
    if not index:
        return dx.codes
    prefixes = {rule.by_site.get(f.site or "") or ("other" if f.site in rule.other_sites else "") for f in index}
    lateralities = {f.laterality for f in index}
    code: str | None
    if "" in prefixes:  # a site the template does not cover: the category code stays
        code = None
    elif len(prefixes) > 1 or "bilateral" in lateralities:
        code = rule.multiple_sites
    elif prefixes == {"other"}:
        code = rule.other_site
    else:
        side = next(iter(lateralities)) if len(lateralities) == 1 else None
        code = prefixes.pop() + rule.laterality.get(side or "unspecified", rule.laterality["unspecified"])
    if code is None or code not in rule.displays:
        return dx.codes
    leaf = Coding(ICD10CM, code, rule.displays[code])
    return tuple(leaf if c.system == ICD10CM else c for c in dx.codes)


def icd10cm_problems(pack: Pack, folder: Path) -> list[PackProblem]:
    """Every ICD-10-CM code must exist in the official FY2026 tables and carry the official display; the pack's table
    of site-built leaves must be exactly what the official tables give."""
    import simple_icd_10_cm as cm

    problems = []
    table = folder / ICD10CM_TABLE
    if table.exists() and json.loads(table.read_text(encoding="utf-8")) != icd10cm_table(pack.raw["diagnoses"]):
        problems.append(PackProblem(str(table), "codes", "differs from the official tables: run `ddx pack publish`"))
    for i, dx in enumerate(pack.diagnoses.values()):
        for code in dx.codes:
            if code.system != ICD10CM:
                continue
            where = f"diagnoses[{i}].codes"
            if not cm.is_valid_item(code.code):
                problems.append(PackProblem(str(folder / "diagnoses.yaml"), where, f"ICD-10-CM {code.code} does not exist"))
            elif cm.get_description(code.code) != code.display:
                problems.append(PackProblem(str(folder / "diagnoses.yaml"), where,
                                            f"ICD-10-CM {code.code} display should be '{cm.get_description(code.code)}'"))
    return problems


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
    for folder in paths.pack_folders(mappings_dir):
        diagnoses = yaml.safe_load((folder / "diagnoses.yaml").read_text(encoding="utf-8"))
        path = folder / ICD10CM_TABLE
        path.write_text(json.dumps(icd10cm_table(diagnoses), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
