"""Problems found while loading a pack, collected with file, path and reason; and the checks that need a table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugin.errors import PackProblem
from plugin.pack_model import SiteCodes
from plugin.predicates import PredicateError, Test, Vocabulary, compile_predicate


class Checker:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[PackProblem] = []

    def add(self, filename: str, path: str, reason: str) -> None:
        self.problems.append(PackProblem(str(self.folder / filename), path, reason))

    def unique(self, filename: str, items: list[Mapping[str, Any]], listname: str) -> dict[str, Mapping[str, Any]]:
        seen: dict[str, Mapping[str, Any]] = {}
        for i, item in enumerate(items):
            if item["id"] in seen:
                self.add(filename, f"{listname}[{i}].id", f"duplicate id '{item['id']}'")
            seen[item["id"]] = item
        return seen

    def sources(self, filename: str, path: str, refs: list[str], known: Mapping[str, Any]) -> tuple[str, ...]:
        for j, ref in enumerate(refs):
            if ref.split()[0] not in known:
                self.add(filename, f"{path}[{j}]", f"source '{ref.split()[0]}' is not declared in pack.yaml sources")
        return tuple(refs)

    def compile(self, filename: str, path: str, node: Mapping[str, Any], vocab: Vocabulary) -> Test:
        try:
            return compile_predicate(node, vocab, path)
        except PredicateError as exc:
            self.add(filename, exc.path, exc.reason)
            return lambda r: None


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
