"""`ddx pack check`: a pack's schema, cross references, codes and dead clues, checked without starting anything."""

from __future__ import annotations

from pathlib import Path

from plugin import paths
from plugin.errors import PackInvalid, PackProblem
from plugin.knowledge.icd10cm import icd10cm_problems
from plugin.knowledge.load import load_pack


def check_packs(path: Path | None = None) -> tuple[list[PackProblem], list[str]]:
    folders = [path] if path and (path / "pack.yaml").exists() else paths.pack_folders(path or paths.MAPPINGS_DIR)
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
