"""`ddx pack check`: a pack's schema, cross references, codes and dead clues, checked without starting anything."""

from __future__ import annotations

import json
from pathlib import Path

from plugin import paths
from plugin.errors import PackInvalid, PackProblem
from plugin.knowledge import Pack, discover, load_pack
from plugin.pack_checker import ICD10CM_TABLE

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def icd10cm_problems(pack: Pack, folder: Path) -> list[PackProblem]:
    """Every ICD-10-CM code must exist in the official FY2026 tables and carry the official display; the pack's table
    of site-built leaves must be exactly what the official tables give."""
    import simple_icd_10_cm as cm

    from plugin.publish import icd10cm_table

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


def check_packs(path: Path | None = None) -> tuple[list[PackProblem], list[str]]:
    folders = [path] if path and (path / "pack.yaml").exists() else discover(path or paths.MAPPINGS_DIR)
    problems: list[PackProblem] = []
    lines: list[str] = []
    if not folders:
        return [PackProblem(str(path or paths.MAPPINGS_DIR), "", "no pack.yaml found")], lines
    for folder in folders:
        try:
            pack = load_pack(folder)
        except PackInvalid as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(icd10cm_problems(pack, folder))
        supported = {e.diagnosis for c in pack.clues for e in c.effects if e.effect == "supports"}
        for dx in pack.diagnoses.values():
            if dx.id not in supported:
                problems.append(PackProblem(str(folder / "clues.yaml"), "", f"no clue supports '{dx.id}': it can never be suggested"))
        resolved = {c for d in pack.discriminators for c in d.resolves}
        lacking = [dx.id for dx in pack.diagnoses.values() if not dx.codes]
        lines.append(f"{pack.id} {pack.version}: {len(pack.diagnoses)} diagnoses, {len(pack.clues)} clues, "
                     f"{len(pack.discriminators)} discriminators, {len(pack.cautions)} cautions")
        lines.append(f"  clues no discriminator resolves: {len([c for c in pack.clues if c.id not in resolved])}")
        lines.append(f"  diagnoses without a standard code ({len(lacking)}): {', '.join(lacking) or 'none'}")
    return problems, lines
